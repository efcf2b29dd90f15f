"""`python -m dsl` runs the nndsl command line."""

from nndsl.cli import run

run()
