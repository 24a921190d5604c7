#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""deferred_attach: carry upstream dd8a25c557e1 ("iommu: Remove deferred
attach check from __iommu_detach_device()") to kernel trees that lack it.

A thin command line over the modules in dattach/, one per stage; each
subcommand is a function below and a parser in `build_parser()`.
"""

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Optional

# Run as a script (python3 scripts/deferred_attach.py): find dattach/.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dattach import convert, tree  # noqa: E402
from dattach.errors import DattachError, ExitStatus  # noqa: E402

PROG = 'deferred_attach'


def _kernel_tree(kdir: Optional[str]) -> tree.KernelTree:
	if kdir:
		return tree.open_tree(kdir)
	return tree.default_tree()


def run_diff(args: argparse.Namespace) -> ExitStatus:
	request = convert.ConvertRequest(tree=_kernel_tree(args.kdir),
					 jobs=args.jobs,
					 spatch=os.environ.get('SPATCH', 'spatch'))
	try:
		result = convert.convert(request, progress=convert.tty_progress)
	finally:
		convert.tty_progress_done()
	sys.stdout.write(result.diff)
	sys.stdout.flush()
	print(result.summary(), file=sys.stderr)
	for note in result.notes:
		print(f'{PROG}: note: {note}', file=sys.stderr)
	return ExitStatus.OK


def build_parser() -> argparse.ArgumentParser:
	parser = argparse.ArgumentParser(
		prog=PROG,
		description='Carry upstream commit dd8a25c557e1 ("iommu: Remove '
			    'deferred attach check from __iommu_detach_device()") '
			    'to a kernel tree that lacks it.  The tree is only '
			    'read; results go to stdout, one summary line to stderr.',
		epilog='exit status: 0 done (or nothing to do), 1 refused or not '
		       'applicable, 2 bad usage or input, 3 a tool failed.  '
		       'SPATCH in the environment names the spatch program.')
	commands = parser.add_subparsers(dest='command', metavar='COMMAND',
					 required=True)

	diff = commands.add_parser(
		'diff', help='print the conversion as one unified diff',
		description='Print the conversion of KDIR as one unified diff '
			    '(a/ b/ paths, for git apply or patch -p1) on stdout; '
			    'nothing when the tree needs no change.  Without '
			    "KDIR: Debian's linux-source-6.1, installed and "
			    'unpacked into .cache/ when missing.')
	diff.add_argument('kdir', metavar='KDIR', nargs='?',
			  help='kernel source tree (default: Debian linux-source-6.1)')
	diff.add_argument('-j', '--jobs', type=_positive, default=os.cpu_count() or 1,
			  help='spatch processes to run at once (default: %(default)s)')
	diff.set_defaults(func=run_diff)
	return parser


def _positive(text: str) -> int:
	try:
		value = int(text)
	except ValueError:
		value = 0
	if value < 1:
		raise argparse.ArgumentTypeError(f'{text!r} is not a positive number')
	return value


def main(argv: Optional[list[str]] = None) -> int:
	args = build_parser().parse_args(argv)
	func: Callable[[argparse.Namespace], ExitStatus] = args.func
	try:
		return int(func(args))
	except DattachError as err:
		print(f'{PROG}: error: {err}', file=sys.stderr)
		return int(err.status)
	except BrokenPipeError:
		# `... diff | head`: not an error worth a traceback.
		sys.stderr.close()
		return int(ExitStatus.OK)
	except KeyboardInterrupt:
		return 130


if __name__ == '__main__':
	sys.exit(main())
