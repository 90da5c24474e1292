import sys

from onemap.cli import main

sys.exit(main())
