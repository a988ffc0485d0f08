"""`python -m compose` is `berth`."""
from .cli import main

main()
