"""``python -m cdr.media decode INPUT --codec pcmu|pcma|g722|opus [--snap-ms N] -o OUT.wav``.

The decoder without Django: the arguments, output and exit codes of ``manage.py cdr_decode``
(0 decoded, 1 bad input, 2 usage; an error is one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cdr.media import cli


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cdr.media", description="Recording tools without Django.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli.add_arguments(commands.add_parser("decode", help=cli.DESCRIPTION, description=cli.DESCRIPTION))
    args = parser.parse_args(argv)
    return cli.run(args.input, args.output, args.codec, snap_ms=args.snap_ms)


if __name__ == "__main__":
    sys.exit(main())
