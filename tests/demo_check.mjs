// Opens an `nndsl demo` page in headless Chromium (tests/test_tfjs.py): loads MNIST test
// image SAMPLE, waits for the prediction, then draws a stroke on the pad and waits for a
// new one. Prints {sample: {class, probabilities}, drawn: {class}} as JSON; with a third
// argument, first saves a screenshot of the sample's page there.
import { chromium } from "playwright-core";

const [url, sample, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 640 } });
  const errors = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  await page.goto(`${url}?sample=${sample}`);
  const read = async () => {
    await page.waitForSelector("#prediction[data-ready='1']", { timeout: 120000 });
    return page.$eval("#prediction", (e) => ({ class: Number(e.dataset.class), probabilities: JSON.parse(e.dataset.probabilities) }));
  };
  const result = { sample: await read(), backend: await page.textContent("#backend") };
  if (screenshot) await page.screenshot({ path: screenshot });
  await page.click("#clear");
  await page.$eval("#prediction", (e) => { e.dataset.ready = ""; });
  const box = await page.locator("#pad").boundingBox();
  await page.mouse.move(box.x + 140, box.y + 50);
  await page.mouse.down();
  for (let t = 0; t <= 20; t += 1) await page.mouse.move(box.x + 140, box.y + 50 + 9 * t);
  await page.mouse.up();
  result.drawn = await read();
  result.errors = errors;
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
