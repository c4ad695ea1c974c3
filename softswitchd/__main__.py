import sys

from softswitchd.cli import main

sys.exit(main())
