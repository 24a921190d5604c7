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

from dattach import (backport, convert, forms, inplace, plan, probe, render,  # noqa: E402
		     report, tree)
from dattach.errors import (BadInputError, DattachError, ExitStatus,  # noqa: E402
			    RefusedError)
from dattach.gitscratch import Identity, parse_identity, user_identity  # noqa: E402

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


def run_probe(args: argparse.Namespace) -> ExitStatus:
	"""Exit 0 whenever the tree could be read, whatever its shape: naming
	the shape is the answer, not a failure."""
	found = probe.probe(_kernel_tree(args.kdir))
	sys.stdout.write(render.probe_json(found) if args.json
			 else render.probe_text(found))
	return ExitStatus.OK


def run_report(args: argparse.Namespace) -> ExitStatus:
	kernel = _kernel_tree(args.kdir)
	found = probe.probe(kernel)
	shape = found.classification
	head = f'linux {kernel.version}'
	if shape.shape is probe.Shape.NOT_APPLICABLE:
		raise RefusedError(f'{head}: not applicable: {shape.reason}')
	if shape.shape is probe.Shape.ALREADY_CONVERTED:
		lines: list[report.ReportLine] = []
	else:
		convert.tty_progress(f'running {len(plan.SERIES)} semantic patches '
				     f'in report mode on {len(found.candidates)} files')
		try:
			lines = report.report(found, os.environ.get('SPATCH', 'spatch'),
					      args.jobs)
		finally:
			convert.tty_progress_done()
	if args.json:
		sys.stdout.write(render.report_json(found, lines))
	else:
		sys.stdout.write(''.join(line.text() + '\n' for line in lines))
	sys.stdout.flush()
	if shape.shape is probe.Shape.ALREADY_CONVERTED:
		print(f'{head}: {shape.reason}: nothing to report', file=sys.stderr)
	else:
		count = len(lines)
		print(f'{head}: {shape.reason}: {count} '
		      f'{"place" if count == 1 else "places"} to convert', file=sys.stderr)
	return ExitStatus.OK


def _signoff(args: argparse.Namespace, kdir: Optional[str]) -> Identity:
	if args.signoff:
		return parse_identity(args.signoff)
	who = user_identity(Path(kdir) if kdir and Path(kdir).is_dir() else None)
	if who is None:
		raise BadInputError('no identity for your Signed-off-by: pass --signoff '
				    '"Your Name <you@example.org>" (or set git config '
				    'user.name and user.email)')
	return who


def run_backport(args: argparse.Namespace) -> ExitStatus:
	kdirs = args.kdir or [None]
	checkpatch = Path(args.checkpatch) if args.checkpatch else None
	spatch = os.environ.get('SPATCH', 'spatch')
	form = forms.Form(args.format)
	# Before any tree is read: a bad --bug is the command line's fault.
	forms.check_bug(args.bug, form)
	if len(kdirs) == 1:
		kernel = _kernel_tree(kdirs[0])
		signoff = _signoff(args, kdirs[0])
		out = Path(args.out) if args.out else backport.default_out(kernel.version)
		request = backport.BackportRequest(
			kdir=str(kernel.path), out=out, signoff=signoff,
			checkpatch=checkpatch, build=args.build, boot=args.boot, jobs=args.jobs,
			spatch=spatch, form=form, bug=args.bug)
		try:
			result = backport.backport(request, progress=convert.tty_progress)
		finally:
			convert.tty_progress_done()
		for path in result.mails:
			print(path)
		sys.stdout.flush()
		print(result.message, file=sys.stderr)
		for check in result.checks:
			print(f'{PROG}: checked: {check}', file=sys.stderr)
		if result.series:
			print(f'{PROG}: add to debian/patches/series: {result.series}',
			      file=sys.stderr)
		return ExitStatus.OK
	signoff = _signoff(args, None)
	out = Path(args.out) if args.out else Path('out')
	cpus = os.cpu_count() or 1

	def make_request(kdir: str, folder: Path) -> backport.BackportRequest:
		return backport.BackportRequest(
			kdir=kdir, out=folder, signoff=signoff, checkpatch=checkpatch,
			build=args.build, boot=args.boot, jobs=max(1, cpus // args.jobs),
			spatch=spatch, form=form, bug=args.bug)
	try:
		results = backport.backport_many([str(k) for k in kdirs], out,
						 make_request, args.jobs,
						 progress=convert.tty_progress)
	finally:
		convert.tty_progress_done()
	backport.write_summary(results, out)
	sys.stdout.write(backport.summary_text(results))
	print(f'{PROG}: summary written to {out / "summary.txt"} and '
	      f'{out / "summary.json"}', file=sys.stderr)
	return max((r.status for r in results), default=ExitStatus.OK)


def run_apply(args: argparse.Namespace) -> ExitStatus:
	kernel = _kernel_tree(args.kdir)
	request = convert.ConvertRequest(tree=kernel, jobs=args.jobs,
					 spatch=os.environ.get('SPATCH', 'spatch'))
	try:
		applied = inplace.apply(request, force=args.force,
					progress=convert.tty_progress)
	except KeyboardInterrupt:
		convert.tty_progress_done()
		print(f'{PROG}: interrupted: every file is as it was', file=sys.stderr)
		raise
	finally:
		convert.tty_progress_done()
	result = applied.result
	if not applied.written:
		print(f'{result.summary()}: nothing to do, the tree is unchanged',
		      file=sys.stderr)
		return ExitStatus.OK
	for rel in applied.written:
		print(rel)
	sys.stdout.flush()
	print(f'{result.summary()} in place', file=sys.stderr)
	for note in result.notes:
		print(f'{PROG}: note: {note}', file=sys.stderr)
	return ExitStatus.OK


def build_parser() -> argparse.ArgumentParser:
	parser = argparse.ArgumentParser(
		prog=PROG,
		description='Carry upstream commit dd8a25c557e1 ("iommu: Remove '
			    'deferred attach check from __iommu_detach_device()") '
			    'to a kernel tree that lacks it.  Only `apply` writes '
			    'into the tree; results go to stdout, one summary line '
			    'to stderr.',
		epilog='exit status: 0 done (or nothing to do), 1 refused or not '
		       'applicable, 2 bad usage or input, 3 a tool failed, 4 a '
		       'check of the result failed (backport).  '
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

	probe_cmd = commands.add_parser(
		'probe', help="name the tree's shape and every deferred-attach site",
		description="Print the tree's shape (the kernel generation of its "
			    'IOMMU core), version, candidate files, every call that '
			    'asks whether the attach is deferred (file:line), and the '
			    'places of the core still in the old form.  Exit 0 '
			    'whenever the tree could be read, whatever its shape.')
	_kdir_argument(probe_cmd)
	_json_argument(probe_cmd)
	probe_cmd.set_defaults(func=run_probe)

	report_cmd = commands.add_parser(
		'report', help='list the places to convert, as coccicheck MODE=report',
		description='Print every place still in the old form as '
			    '`file:line:col-col: message`, as `make coccicheck '
			    'MODE=report` does (paths relative to the tree).  '
			    'Nothing on stdout for a converted tree.')
	_kdir_argument(report_cmd)
	_json_argument(report_cmd)
	_jobs_argument(report_cmd)
	report_cmd.set_defaults(func=run_report)

	backport_cmd = commands.add_parser(
		'backport', help='write checked patches: stable mail, Android or quilt',
		description='Write the conversion as patches (one per upstream '
			    'commit the tree needs): stable mails in git '
			    'format-patch form, Android Common Kernel commits '
			    '(UPSTREAM:/BACKPORT:, Change-Id) or a quilt patch with '
			    'DEP-3 headers, after checking that they apply with '
			    'git am (and quilt push, for quilt) and pass the '
			    'tree\'s checkpatch.pl --strict (and, with --build, '
			    'compile).  A failed check writes nothing.  '
			    'With several KDIRs: one folder per tree under OUT, and '
			    'a summary table in OUT/summary.txt and summary.json.',
		epilog='exit status as for diff, and 4 when a check failed; with '
		       'several trees, the worst of theirs.')
	backport_cmd.add_argument('kdir', metavar='KDIR', nargs='*',
				  help='kernel source trees (default: Debian linux-source-6.1)')
	backport_cmd.add_argument('-o', '--out', metavar='OUT',
				  help='folder for the mails (default: out/linux-<version>; '
				       'with several trees: out, one folder per tree)')
	backport_cmd.add_argument('--signoff', metavar='"NAME <MAIL>"',
				  help='your Signed-off-by (default: git config user.name '
				       'and user.email)')
	backport_cmd.add_argument('--checkpatch', metavar='PATH',
				  help='checkpatch.pl to use (default: the tree\'s own; '
				       'its tree is checkpatch\'s --root)')
	backport_cmd.add_argument('--format', choices=[f.value for f in forms.Form],
				  default=forms.Form.MAIL.value,
				  help='mail: [PATCH x.y.y] stable mail; android: Android '
				       'Common Kernel commit; quilt: DEP-3 patch for '
				       'debian/patches (default: %(default)s)')
	backport_cmd.add_argument('--bug', metavar='N',
				  help="android: the commit's Bug: number")
	backport_cmd.add_argument('--build', action='store_true',
				  help='also compile the touched objects with the '
				       "tree's Kbuild in a scratch copy")
	backport_cmd.add_argument('--boot', action='store_true',
				  help='also boot the converted kernel under QEMU with an '
				       'emulated Intel IOMMU and take a kdump (x86-64 '
				       'trees only; make boot-test)')
	_jobs_argument(backport_cmd, 'trees at once with several KDIRs, else '
			'spatch processes')
	backport_cmd.set_defaults(func=run_backport)

	apply_cmd = commands.add_parser(
		'apply', help='convert the tree in place, all or nothing',
		description='Convert KDIR in place: every file or none.  Refuses '
			    'files with uncommitted git changes unless --force; on '
			    'any error or Ctrl-C every file is left byte-identical.  '
			    'A converted tree is left alone.')
	_kdir_argument(apply_cmd)
	apply_cmd.add_argument('--force', action='store_true',
			       help='convert files with uncommitted changes too')
	_jobs_argument(apply_cmd)
	apply_cmd.set_defaults(func=run_apply)
	return parser


def _kdir_argument(parser: argparse.ArgumentParser) -> None:
	parser.add_argument('kdir', metavar='KDIR', nargs='?',
			    help='kernel source tree (default: Debian linux-source-6.1)')


def _json_argument(parser: argparse.ArgumentParser) -> None:
	parser.add_argument('--json', action='store_true',
			    help='print JSON for machines')


def _jobs_argument(parser: argparse.ArgumentParser,
		   what: str = 'spatch processes') -> None:
	parser.add_argument('-j', '--jobs', type=_positive, default=os.cpu_count() or 1,
			    help=f'{what} to run at once (default: %(default)s)')


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
