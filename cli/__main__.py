"""`python -m cli ...`: the `relayflow` command without the installed script (CI uses it before installing)."""
from cli.entry import main

main()
