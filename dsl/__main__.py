"""`python -m dsl` runs the nndsl command line."""

from dsl.cli import run

run()
