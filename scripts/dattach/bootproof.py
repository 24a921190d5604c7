"""The boot proof: the converted kernel boots under QEMU behind an emulated
IOMMU, and a kdump capture kernel's deferred attach goes through the flag.

A kernel is built from a scratch hardlinked copy of the tree (the tree is
only read) with `make tinyconfig` plus tests/boot/boot.config, in a build
folder cached under .cache/boot/.  It boots under QEMU (TCG) with an
initramfs of Debian's busybox-static and kexec and tests/boot/init, which
reads a virtio-blk disk through the IOMMU, loads the same kernel as a kdump
capture kernel and crashes into it; the capture kernel reads the disk
again.  The init only prints facts ("DATTACH <stage> <what> ..."); the
checks below judge them with the kernel's own console lines.

Variants: the conversion; the unconverted tree (a control: it must pass
too, since Intel's op stops answering "deferred" once the device is
attached); and two mutants of the converted iommu.c (controls that must
fail): flag-never-set (no `attach_deferred = 1`: the capture kernel's disk
DMA faults) and flag-never-cleared (no `attach_deferred = 0`: every DMA
mapping attaches again).

`python3 -m dattach.bootproof` (from scripts/) is what `make boot-test`
runs; tests/run.py calls results(); backport --boot calls prove().
"""

import argparse
import dataclasses
import enum
import hashlib
import os
import re
import select
import signal
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, Optional

from dattach import tree
from dattach.errors import (BadInputError, CheckFailedError, DattachError, RefusedError,
			    ToolError)

REPO = tree.REPO_ROOT
BOOT_DIR = REPO / 'tests' / 'boot'
FRAGMENT = BOOT_DIR / 'boot.config'
INIT = BOOT_DIR / 'init'
CACHE = tree.CACHE_DIR / 'boot'
LOGS = REPO / 'out' / 'boot-test'
CLI = REPO / 'scripts' / 'deferred_attach.py'

IOMMU_C = 'drivers/iommu/iommu.c'
BUSYBOX = Path('/bin/busybox')
KEXEC = Path('/usr/sbin/kexec')
QEMU = 'qemu-system-x86_64'
DISK_BYTES = 4 << 20

# Bounds on one QEMU run: the whole run, silence on the console, and
# silence after a DMA fault (the faulting read never completes).
RUN_TIMEOUT = 900
IDLE_TIMEOUT = 240
FAULT_IDLE_TIMEOUT = 20
# Bound on one kernel build.
BUILD_TIMEOUT = 5400


class Variant(enum.Enum):
	CONVERTED = 'converted'
	UNCONVERTED = 'unconverted'
	FLAG_NEVER_SET = 'flag-never-set'
	FLAG_NEVER_CLEARED = 'flag-never-cleared'


# The line each mutant deletes from the converted iommu.c.
MUTANT_LINE = {
	Variant.FLAG_NEVER_SET: re.compile(r'^[^\n]*->attach_deferred = 1;[ \t]*\n', re.M),
	Variant.FLAG_NEVER_CLEARED: re.compile(r'^[^\n]*->attach_deferred = 0;[ \t]*\n', re.M),
}
# The check each control must fail, and why.
MUTANT_FAILS = {
	Variant.FLAG_NEVER_SET: ('capture/no-dma-fault', 'the DMA fault'),
	Variant.FLAG_NEVER_CLEARED: ('capture/attached-once', 'the attach count'),
}


# QEMU's own word (on its stderr, merged into the console) when a device's
# DMA did not translate: it gives up on the request, which never completes.
QEMU_BLOCKED = r'qemu-system-x86_64: virtio: zero sized buffers are not allowed'


@dataclasses.dataclass(frozen=True)
class Iommu:
	name: str
	device: str		# QEMU -device
	cmdline: str		# kernel parameters
	copied: re.Pattern[str]	# the capture kernel takes over live translation
	fault: re.Pattern[str]	# a blocked DMA


INTEL = Iommu(
	'intel', 'intel-iommu,intremap=on,caching-mode=on',
	'intel_iommu=on iommu.strict=1',
	re.compile(r'DMAR: Translation already enabled - trying to copy translation structures'),
	re.compile(r'DMAR: \[(DMA (Read|Write)|INTR-REMAP)|DMAR: DRHD: handling fault|'
		   + QEMU_BLOCKED))
AMD = Iommu(
	# The AMD driver is on whenever ACPI has an IVRS table (amd_iommu=on
	# is no option of it).  QEMU's amd-iommu takes the PCI slot before
	# the disk's, so the disk is 00:04.0 here.
	'amd', 'amd-iommu,intremap=on',
	'iommu.strict=1',
	re.compile(r'AMD-Vi: Translation is already enabled - trying to copy translation structures'),
	# QEMU 7.2's amd-iommu gives the guest no IO_PAGE_FAULT event for a
	# blocked DMA: QEMU's own line is then all there is.
	re.compile(r'IO_PAGE_FAULT|AMD-Vi: Event logged|' + QEMU_BLOCKED))
IOMMUS = {i.name: i for i in (INTEL, AMD)}

# Splats: lockdep, WARN, BUG, oops.  Our own DATTACH lines are left out.
SPLAT = re.compile(r'WARNING:|BUG:|possible (recursive|circular) locking|'
		   r'inconsistent lock state|DEBUG_LOCKS_WARN_ON|INFO: lockdep|'
		   r'Oops|general protection fault|Kernel panic')
# The stack of an attach made by the DMA API (dma-iommu.c's ops, or
# iommu_deferred_attach itself, which is mostly a tail call and so absent).
DMA_API = re.compile(r'=> (__)?iommu_(dma_\w+|deferred_attach)\b')
MARK = re.compile(r'DATTACH (first|capture) (\S+) ?(.*)')


@dataclasses.dataclass(frozen=True)
class Result:
	name: str
	passed: bool
	detail: str = ''


def _say(message: str) -> None:
	print(f'boot-test: {message}', file=sys.stderr, flush=True)


def _env() -> dict[str, str]:
	# Scratch trees live in .cache/ inside this repository's work tree:
	# git must not take them for part of it.
	return dict(os.environ, GIT_CEILING_DIRECTORIES=str(tree.CACHE_DIR), LC_ALL='C')


def _tail(text: str, lines: int = 12) -> str:
	return '\n'.join(text.strip().splitlines()[-lines:])


# --- sources and builds ---------------------------------------------------------

def files_of(diff: str) -> list[str]:
	names = []
	for line in diff.splitlines():
		if line.startswith('+++ b/'):
			names.append(line[6:].split('\t')[0])
	return names


def converted_files(kernel: tree.KernelTree, diff: str) -> dict[str, bytes]:
	"""The files the diff changes, as they are after it: applied to copies
	of just those files in a temporary folder."""
	with tempfile.TemporaryDirectory(prefix='dattach-boot.') as tmp:
		work = Path(tmp) / 'tree'
		for rel in files_of(diff):
			(work / rel).parent.mkdir(parents=True, exist_ok=True)
			shutil.copyfile(kernel.path / rel, work / rel)
		done = subprocess.run(['git', 'apply', '-'], cwd=work, input=diff.encode(),
				      capture_output=True, check=False,
				      env=dict(_env(), GIT_CEILING_DIRECTORIES=tmp))
		if done.returncode != 0:
			raise ToolError(f'git apply: {done.stderr.decode(errors="replace").strip()}')
		return {rel: (work / rel).read_bytes() for rel in files_of(diff)}


def convert(kernel: tree.KernelTree) -> str:
	"""The toolkit's diff of the tree (scripts/deferred_attach.py diff)."""
	done = subprocess.run([sys.executable, str(CLI), 'diff', str(kernel.path)],
			      capture_output=True, text=True, env=_env(), check=False)
	if done.returncode != 0 or not done.stdout:
		raise ToolError(f'deferred_attach.py diff {kernel.path}: exit status '
				f'{done.returncode}: {done.stderr.strip()}')
	return done.stdout


def mutate(files: dict[str, bytes], variant: Variant) -> dict[str, bytes]:
	"""The converted files with the mutant's one line of iommu.c deleted."""
	if variant not in MUTANT_LINE:
		return files
	text = files.get(IOMMU_C, b'').decode('utf-8', errors='surrogateescape')
	found = MUTANT_LINE[variant].findall(text)
	if len(found) != 1:
		raise ToolError(f'mutant {variant.value}: {len(found)} lines match '
				f'{MUTANT_LINE[variant].pattern!r} in the converted {IOMMU_C}')
	text = MUTANT_LINE[variant].sub('', text, count=1)
	return dict(files, **{IOMMU_C: text.encode('utf-8', errors='surrogateescape')})


def _tree_key(kernel: tree.KernelTree) -> str:
	"""Names the tree's cache folders: its path, so two trees never share
	a build folder."""
	return hashlib.sha256(str(kernel.path).encode()).hexdigest()[:12]


def _fingerprint(root: Path) -> str:
	"""Every file's path, size and mtime: a changed tree gets a new image."""
	digest = hashlib.sha256()
	for dirpath, dirnames, names in os.walk(root):
		dirnames.sort()
		for name in sorted(names):
			st = os.lstat(os.path.join(dirpath, name))
			digest.update(f'{dirpath}/{name}\0{st.st_size}\0{st.st_mtime_ns}\n'.encode())
	return digest.hexdigest()


def _make(args: list[str], cwd: Path, log: Path, what: str) -> None:
	with open(log, 'a') as out:
		out.write(f'$ make {" ".join(args)}\n')
		out.flush()
		try:
			done = subprocess.run(['timeout', str(BUILD_TIMEOUT), 'make', *args],
					      cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
					      env=_env(), check=False)
		except FileNotFoundError as err:
			raise ToolError(f'{what}: {err}') from err
	if done.returncode != 0:
		reason = 'timed out' if done.returncode == 124 else f'exit status {done.returncode}'
		raise ToolError(f'{what}: {reason}; see {log}:\n{_tail(log.read_text(errors="replace"))}')


class Builder:
	"""One scratch copy and one build folder per tree: the variants differ
	in a file or two, so each swaps only those in and Kbuild rebuilds what
	depends on them.  Each variant's bzImage is kept by the hash of what
	went into it, so a rerun builds nothing."""

	def __init__(self, kernel: tree.KernelTree, jobs: int) -> None:
		self.kernel = kernel
		self.jobs = jobs
		key = _tree_key(kernel)
		self.src = CACHE / 'src' / key
		self.out = CACHE / 'build' / key
		self.images = CACHE / 'images'
		# Build and console logs, one folder per tree.
		self.logs = LOGS / f'linux-{kernel.version}-{key[:8]}'
		self._fp: Optional[str] = None

	def fingerprint(self) -> str:
		if self._fp is None:
			self._fp = _fingerprint(self.kernel.path)
		return self._fp

	def image_key(self, files: dict[str, bytes]) -> str:
		digest = hashlib.sha256()
		digest.update(FRAGMENT.read_bytes())
		digest.update(str(self.kernel.path).encode() + b'\0' + self.fingerprint().encode())
		for rel in sorted(files):
			digest.update(rel.encode() + b'\0' + files[rel] + b'\0')
		return digest.hexdigest()[:20]

	def cached(self, files: dict[str, bytes]) -> Optional[Path]:
		image = self.images / self.image_key(files) / 'bzImage'
		return image if image.is_file() else None

	def _scratch(self) -> None:
		"""The hardlinked copy, made again when the tree changed."""
		stamp = self.src.parent / f'{self.src.name}.fingerprint'
		if self.src.is_dir() and stamp.is_file() and stamp.read_text() == self.fingerprint():
			return
		_say(f'copying {self.kernel.path} (hardlinks) to {self.src}')
		stamp.unlink(missing_ok=True)
		if self.src.exists():
			shutil.rmtree(self.src)
		self.src.parent.mkdir(parents=True, exist_ok=True)
		done = subprocess.run(['cp', '-al', str(self.kernel.path), str(self.src)],
				      capture_output=True, text=True, check=False)
		if done.returncode != 0:
			raise ToolError(f'cp -al: {done.stderr.strip()}')
		if (self.src / '.config').exists() or (self.src / 'include' / 'config').exists():
			# A tree configured in place refuses O=; mrproper only
			# unlinks, so the user's files stay as they are.
			_make(['mrproper'], self.src, self.src.parent / f'{self.src.name}.log',
			      'make mrproper (in the scratch copy)')
		stamp.write_text(self.fingerprint())

	def _swap_in(self, files: dict[str, bytes]) -> None:
		"""Put the variant's files in the scratch copy, each as a new inode
		(renamed into place: the copy's other files are the user's)."""
		record = self.src.parent / f'{self.src.name}.swapped'
		swapped = set(record.read_text().split()) if record.is_file() else set()
		for rel in sorted(swapped | set(files)):
			path = self.src / rel
			want = files.get(rel)
			if want is None:
				# Swapped in by an earlier variant, not this one: the
				# user's file again.
				path.unlink(missing_ok=True)
				os.link(self.kernel.path / rel, path)
				continue
			if path.is_file() and path.read_bytes() == want:
				continue
			tmp = path.with_name(path.name + '.dattach-new')
			tmp.write_bytes(want)
			os.replace(tmp, path)
		record.write_text('\n'.join(sorted(set(files))) + '\n')

	def _configure(self, log: Path) -> None:
		stamp = self.out / '.dattach-fragment'
		fragment = FRAGMENT.read_text()
		if stamp.is_file() and stamp.read_text() == fragment and (self.out / '.config').is_file():
			return
		self.out.mkdir(parents=True, exist_ok=True)
		stamp.unlink(missing_ok=True)
		_make([f'O={self.out}', 'tinyconfig'], self.src, log, 'make tinyconfig')
		done = subprocess.run([str(self.src / 'scripts/kconfig/merge_config.sh'), '-m',
				       '-O', str(self.out), str(self.out / '.config'), str(FRAGMENT)],
				      cwd=self.src, capture_output=True, text=True, env=_env(),
				      check=False)
		if done.returncode != 0:
			raise ToolError(f'merge_config.sh: {_tail(done.stdout + done.stderr)}')
		_make([f'O={self.out}', 'olddefconfig'], self.src, log, 'make olddefconfig')
		config = (self.out / '.config').read_text()
		missing = [line for line in fragment.splitlines()
			   if line.startswith('CONFIG_') and line not in config.splitlines()]
		if missing:
			raise ToolError(f'{self.out}/.config lacks {", ".join(missing)} '
					f'from {FRAGMENT.relative_to(REPO)} (its Kconfig '
					'dependencies are not met in this tree)')
		stamp.write_text(fragment)

	def build(self, files: dict[str, bytes], what: str) -> Path:
		"""The bzImage of the tree with `files` swapped in."""
		image = self.cached(files)
		if image:
			return image
		self._scratch()
		self._swap_in(files)
		self.logs.mkdir(parents=True, exist_ok=True)
		log = self.logs / f'build-{what}.log'
		log.write_text('')
		self._configure(log)
		start = time.monotonic()
		_say(f'building bzImage ({what}) in {self.out}, log {log}')
		_make([f'O={self.out}', f'-j{self.jobs}', 'bzImage'], self.src, log,
		      f'make bzImage ({what})')
		_say(f'built bzImage ({what}) in {time.monotonic() - start:.0f} s')
		target = self.images / self.image_key(files)
		target.mkdir(parents=True, exist_ok=True)
		tmp = target / 'bzImage.tmp'
		shutil.copyfile(self.out / 'arch/x86/boot/bzImage', tmp)
		os.replace(tmp, target / 'bzImage')
		gen = self.out / 'usr' / 'gen_init_cpio'
		if gen.is_file():
			shutil.copyfile(gen, CACHE / 'gen_init_cpio.tmp')
			os.chmod(CACHE / 'gen_init_cpio.tmp', 0o755)
			os.replace(CACHE / 'gen_init_cpio.tmp', CACHE / 'gen_init_cpio')
		return target / 'bzImage'


# --- initramfs -------------------------------------------------------------------

def _gen_init_cpio(kernel: tree.KernelTree) -> Path:
	"""The kernel's own usr/gen_init_cpio (it writes /dev/console without
	root): the one the build made, else compiled from the tree."""
	gen = CACHE / 'gen_init_cpio'
	if gen.is_file():
		return gen
	CACHE.mkdir(parents=True, exist_ok=True)
	done = subprocess.run(['gcc', '-O2', '-o', str(gen),
			       str(kernel.path / 'usr' / 'gen_init_cpio.c')],
			      capture_output=True, text=True, check=False)
	if done.returncode != 0:
		raise ToolError(f'gcc usr/gen_init_cpio.c: {_tail(done.stderr)}')
	return gen


def _shared_libs(binary: Path) -> list[Path]:
	"""What `ldd` says the binary loads (nothing for a static one)."""
	done = subprocess.run(['ldd', str(binary)], capture_output=True, text=True,
			      check=False)
	libs = []
	for line in done.stdout.splitlines():
		match = re.search(r'(/\S+) \(0x', line)
		if match:
			libs.append(Path(match.group(1)))
	return libs


def _cpio(gen: Path, entries: list[str], target: Path) -> None:
	listing = target.with_suffix('.list')
	listing.write_text('\n'.join(entries) + '\n')
	with open(target, 'wb') as out:
		done = subprocess.run([str(gen), str(listing)], stdout=out,
				      stderr=subprocess.PIPE, check=False)
	if done.returncode != 0:
		raise ToolError(f'gen_init_cpio: {done.stderr.decode(errors="replace").strip()}')


def initramfs(kernel: tree.KernelTree, bzimage: Path, capture_cmdline: str,
	      work: Path) -> Path:
	"""busybox, kexec and its libraries, /init, the bzImage and, for the
	first kernel only, the capture kernel's initramfs (this one less
	itself)."""
	for tool, package in ((BUSYBOX, 'busybox-static'), (KEXEC, 'kexec-tools')):
		if not tool.is_file():
			raise ToolError(f'{tool} is missing: install {package} (make deps)')
	if _shared_libs(BUSYBOX):
		raise ToolError(f'{BUSYBOX} is not static: install busybox-static')
	dirs = {'/bin', '/dev', '/proc', '/sys', '/tmp', '/boot', '/usr', '/usr/sbin'}
	files = [('/init', INIT, '0755'), ('/bin/busybox', BUSYBOX, '0755'),
		 ('/usr/sbin/kexec', KEXEC, '0755'), ('/boot/bzImage', bzimage, '0644')]
	for lib in _shared_libs(KEXEC):
		files.append((str(lib), lib.resolve(), '0755'))
	for name, _, _ in files:
		parent = Path(name).parent
		while str(parent) != '/':
			dirs.add(str(parent))
			parent = parent.parent
	cmdline = work / 'capture-cmdline'
	cmdline.write_text(capture_cmdline + '\n')
	files.append(('/boot/capture-cmdline', cmdline, '0644'))
	entries = [f'dir {d} 0755 0 0' for d in sorted(dirs)]
	entries.append('nod /dev/console 0600 0 0 c 5 1')
	entries += [f'file {name} {source} {mode} 0 0' for name, source, mode in files]
	gen = _gen_init_cpio(kernel)
	inner = work / 'capture.cpio'
	_cpio(gen, entries, inner)
	outer = work / 'first.cpio'
	_cpio(gen, entries + [f'file /boot/capture.cpio {inner} 0644 0 0'], outer)
	return outer


# --- one QEMU run -------------------------------------------------------------------

@dataclasses.dataclass
class Boot:
	lines: list[str]		# the console, as printed
	times: list[float]		# seconds since start, per line
	seconds: float
	ended: str			# 'powered off', or why it was stopped

	def marks(self, stage: str) -> list[tuple[str, str]]:
		found = []
		for line in self.lines:
			match = MARK.search(line)
			if match and match.group(1) == stage:
				found.append((match.group(2), match.group(3).strip()))
		return found

	def mark(self, stage: str, what: str) -> Optional[str]:
		for key, value in self.marks(stage):
			if key == what:
				return value
		return None

	def when(self, pattern: str) -> Optional[float]:
		for line, at in zip(self.lines, self.times):
			if pattern in line:
				return at
		return None

	def segments(self) -> tuple[list[str], list[str]]:
		"""The first kernel's console up to the crash, and the capture
		kernel's from its banner on (the panic between is expected)."""
		crash = next((i for i, l in enumerate(self.lines) if 'DATTACH first crash' in l),
			     len(self.lines))
		banner = next((i for i in range(crash, len(self.lines))
			       if 'Linux version' in self.lines[i]), len(self.lines))
		return self.lines[:crash], self.lines[banner:]


def boot(bzimage: Path, cpio: Path, disk: Path, iommu: Iommu, cmdline: str) -> Boot:
	cmd = ['timeout', '--kill-after=10', str(RUN_TIMEOUT), QEMU,
	       '-machine', 'q35,kernel-irqchip=split', '-accel', 'tcg', '-m', '1G',
	       '-device', iommu.device,
	       '-drive', f'file={disk},if=none,id=disk,format=raw,readonly=on',
	       '-device', 'virtio-blk-pci,drive=disk,iommu_platform=on,disable-legacy=on',
	       '-kernel', str(bzimage), '-initrd', str(cpio), '-append', cmdline,
	       '-display', 'none', '-monitor', 'none', '-serial', 'stdio',
	       '-no-reboot']
	start = time.monotonic()
	lines: list[str] = []
	times: list[float] = []
	try:
		# A session of its own: a hung run is stopped by killing the
		# whole group, QEMU with the timeout(1) that started it.
		proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
					stderr=subprocess.STDOUT, start_new_session=True)
	except FileNotFoundError as err:
		raise ToolError(f'{err}: install qemu-system-x86 (make deps)') from err
	assert proc.stdout is not None
	fd = proc.stdout.fileno()
	buf = b''
	last = start
	fault = False
	ended = ''
	try:
		while True:
			now = time.monotonic()
			idle = FAULT_IDLE_TIMEOUT if fault else IDLE_TIMEOUT
			ready, _, _ = select.select([fd], [], [], 1.0)
			if ready:
				chunk = os.read(fd, 65536)
				if not chunk:
					break
				last = time.monotonic()
				buf += chunk
				*done, buf = buf.split(b'\n')
				for raw in done:
					line = raw.decode('utf-8', errors='replace').rstrip('\r')
					lines.append(line)
					times.append(last - start)
					if iommu.fault.search(line):
						fault = True
			elif now - last > idle:
				ended = (f'hung: no console output for {idle} s'
					 + (' after a DMA fault' if fault else ''))
				os.killpg(proc.pid, signal.SIGKILL)
				break
	except BaseException:
		# Ctrl-C or a bug here: QEMU is in a session of its own, so
		# nothing else would stop it before its timeout.
		os.killpg(proc.pid, signal.SIGKILL)
		raise
	if buf:
		lines.append(buf.decode('utf-8', errors='replace'))
		times.append(time.monotonic() - start)
	status = proc.wait()
	if not ended:
		ended = (f'timed out after {RUN_TIMEOUT} s' if status == 124
			 else 'qemu exited' if status == 0 else f'qemu exit status {status}')
	return Boot(lines, times, time.monotonic() - start, ended)


# --- the checks ---------------------------------------------------------------------

def _events(boot: Boot, stage: str, pci: str) -> list[list[str]]:
	"""The attach_device_to_domain events for the PCI device, each with
	its stack (trace_options=stacktrace)."""
	events: list[list[str]] = []
	current: Optional[list[str]] = None
	for what, value in boot.marks(stage):
		if what != 'trace':
			continue
		if 'attach_device_to_domain' in value:
			current = [value] if pci and pci in value else None
			if current is not None:
				events.append(current)
		elif value.lstrip().startswith('=>') and current is not None:
			current.append(value.strip())
		elif '<stack trace>' not in value:
			current = None
	return events


def _first_hit(lines: list[str], pattern: re.Pattern[str]) -> Optional[str]:
	return next((l for l in lines if 'DATTACH' not in l and pattern.search(l)), None)


def _fault_line(lines: list[str], iommu: Iommu) -> Optional[str]:
	"""The DMA fault to name: the line with the device and address when
	the driver printed one, else the first fault line."""
	faults = [l for l in lines if 'DATTACH' not in l and iommu.fault.search(l)]
	return next((l for l in faults if re.search(r'fault addr|\[DMA|IO_PAGE_FAULT', l)),
		    faults[0] if faults else None)


def judge(boot: Boot, iommu: Iommu, checksum: str) -> list[Result]:
	"""One Result per check, in the order of issue 8."""
	first, capture = boot.segments()
	last = next((l for l in reversed(boot.lines) if l.strip()), '(no console output)')
	ended = f'{boot.ended}; last console line: {last}'
	results = []

	def check(name: str, ok: bool, why: str) -> None:
		results.append(Result(name, ok, '' if ok else why))

	def stage_checks(stage: str, lines: list[str], ended: str) -> None:
		booted = boot.mark(stage, 'booted')
		check(f'{stage}/boots', booted is not None,
		      f'the {stage} kernel never ran /init ({ended})')
		if stage == 'first':
			groups = boot.mark(stage, 'groups')
			check('first/iommu-groups', groups is not None and groups.isdigit() and int(groups) > 0,
			      f'IOMMU groups: {groups!r} ({ended})')
			group = (boot.mark(stage, 'disk-group') or '').split()
			check('first/disk-in-group', len(group) == 2 and group[1] != 'none',
			      f'the disk\'s PCI device and group: {group} ({ended})')
		else:
			check('capture/translation-copied', _first_hit(lines, iommu.copied) is not None,
			      f'no line matching {iommu.copied.pattern!r} in the capture kernel, '
			      'so it did not take over live translation and nothing was deferred '
			      f'({ended})')
		got = boot.mark(stage, 'checksum')
		check(f'{stage}/checksum', got == checksum,
		      f'read back {got!r}, wrote sha256 {checksum}' +
		      (f' ({ended})' if got is None or got == 'hang' else ''))
		pci = (boot.mark(stage, 'disk-pci') or '')
		events = _events(boot, stage, pci)
		if stage == 'first':
			check('first/attach-event', len(events) >= 1,
			      f'no attach_device_to_domain trace event for {pci or "the disk"} '
			      f'({boot.mark(stage, "trace-missing") is not None and "no tracefs" or ended})')
		else:
			from_dma = [e for e in events if any(DMA_API.match(f) for f in e[1:])]
			check('capture/attached-once', len(events) == 1 and len(from_dma) == 1,
			      f'{len(events)} attach_device_to_domain events for {pci or "the disk"}, '
			      f'{len(from_dma)} of them from a DMA API call (the deferred attach '
			      'on the first mapping); want exactly one, from there' +
			      (f'\nfirst: {" ".join(events[0])}' if events else f' ({ended})'))
		fault = _fault_line(lines, iommu)
		splat = _first_hit(lines, SPLAT)
		if stage == 'first':
			bad = fault or splat
			check('first/no-fault-or-splat', bad is None, f'{bad}')
		else:
			check('capture/no-dma-fault', fault is None, f'DMA fault: {fault}')
			check('capture/no-splat', splat is None, f'{splat}')

	stage_checks('first', first, ended)
	kexec = boot.mark('first', 'kexec')
	if kexec is not None and kexec != 'loaded':
		ended = f'kexec -p: {kexec}; {ended}'
	stage_checks('capture', capture, ended)
	return results


# --- variants, controls and the report ------------------------------------------------------------

@dataclasses.dataclass
class Run:
	variant: Variant
	iommu: Iommu
	results: list[Result]
	seconds: float
	log: Path


def run_variant(builder: Builder, files: dict[str, bytes], variant: Variant,
		iommu: Iommu) -> Run:
	what = f'{iommu.name}-{variant.value}'
	image = builder.build(files, variant.value)
	base = f'console=ttyS0 {iommu.cmdline} panic=-1 ' \
	       'trace_event=iommu:attach_device_to_domain trace_options=stacktrace'
	capture = f'{base} dattach=capture nr_cpus=1 irqpoll reset_devices'
	with tempfile.TemporaryDirectory(prefix='dattach-boot.') as tmp:
		work = Path(tmp)
		cpio = initramfs(builder.kernel, image, capture, work)
		disk = work / 'disk.img'
		data = os.urandom(DISK_BYTES)
		disk.write_bytes(data)
		_say(f'booting {what} under QEMU')
		booted = boot(image, cpio, disk, iommu, f'{base} crashkernel=256M')
	results = judge(booted, iommu, hashlib.sha256(data).hexdigest())
	builder.logs.mkdir(parents=True, exist_ok=True)
	log = builder.logs / f'{what}.console.log'
	# Every run's console, kept: a failing run's for the failure, a
	# passing run's to compare it with.
	log.write_text('\n'.join(booted.lines) + '\n')
	stages = [('first /init', booted.when('DATTACH first booted')),
		  ('crash', booted.when('DATTACH first crash')),
		  ('capture /init', booted.when('DATTACH capture booted'))]
	_say(f'{what}: qemu ran {booted.seconds:.0f} s (' +
	     ', '.join(f'{n} at {t:.0f} s' for n, t in stages if t is not None) +
	     f'; {booted.ended})')
	return Run(variant, iommu, results, booted.seconds, log)


def _control(run: Run) -> Result:
	"""A mutant's line: it must fail, on the check named for it."""
	failed = [r for r in run.results if not r.passed]
	name = f'boot/{run.iommu.name}/control/{run.variant.value}'
	want, what = MUTANT_FAILS[run.variant]
	summary = '\n'.join(f'{"PASS" if r.passed else "FAIL"} {r.name}' +
			    (f': {r.detail.splitlines()[0]}' if r.detail else '')
			    for r in run.results)
	hit = next((r for r in failed if r.name == want), None)
	if hit is None:
		return Result(name, False, f'the mutant should fail {want} ({what}) and did not; '
			      f'its checks:\n{summary}')
	return Result(name, True, f'fails as expected on {what}: {hit.detail.splitlines()[0]}')


def results(kernel: Optional[tree.KernelTree] = None, variants: Optional[list[Variant]] = None,
	    iommus: Optional[list[Iommu]] = None, jobs: int = 0) -> Iterator[Result]:
	"""Every check of every variant, as test lines: the conversion's and
	the unconverted control's one per check, a mutant's one (it failed
	as it must, or not).  A variant that cannot be built or booted is one
	failing line naming why."""
	only = variants is not None and len(variants) == 1
	everything = [Variant.CONVERTED, Variant.FLAG_NEVER_SET, Variant.FLAG_NEVER_CLEARED,
		      Variant.UNCONVERTED]
	if iommus:
		plan = [(i, v) for i in iommus for v in variants or everything]
	else:
		# By default every variant on Intel's IOMMU and the conversion on
		# AMD's too: its controls double the QEMU time for no other code
		# path of the core (make boot-test IOMMU=amd runs them).  A
		# variant asked for alone runs on Intel's.
		plan = [(INTEL, v) for v in variants or everything]
		if variants is None:
			plan.append((AMD, Variant.CONVERTED))
	try:
		kernel = kernel or tree.default_tree()
		builder = Builder(kernel, jobs or os.cpu_count() or 1)
		converted = converted_files(kernel, convert(kernel))
	except DattachError as err:
		yield Result('boot', False, str(err))
		return
	before = builder.fingerprint()
	for iommu, variant in plan:
		prefix = f'boot/{iommu.name}/{variant.value}'
		if variant is Variant.UNCONVERTED:
			prefix = f'boot/{iommu.name}/control/unconverted'
		try:
			# The unconverted control: every file the conversion
			# touches, as it is in the tree.
			files = ({rel: (kernel.path / rel).read_bytes() for rel in converted}
				 if variant is Variant.UNCONVERTED else mutate(converted, variant))
			run = run_variant(builder, files, variant, iommu)
		except DattachError as err:
			yield Result(prefix, False, str(err))
			continue
		if variant in MUTANT_FAILS and not only:
			yield _control(run)
			continue
		for result in run.results:
			detail = result.detail
			if not result.passed:
				detail += f'\nconsole log: {run.log.relative_to(REPO)}'
			yield Result(f'{prefix}/{result.name}', result.passed, detail)
	# Every file's size and mtime: the builds and the swaps of the
	# variants' files all happen in the scratch copy.
	after = _fingerprint(kernel.path)
	yield Result('boot/tree-untouched', before == after,
		     '' if before == after else f'{kernel.path} changed during the boot proof')


def prove(kernel: tree.KernelTree, diff: str, jobs: int) -> list[str]:
	"""backport --boot: the boot proof of this tree's conversion.  Returns
	the checks passed; raises CheckFailedError naming the first failure."""
	refusal = not_x86(kernel)
	if refusal:
		raise RefusedError(f'boot proof (--boot): {refusal}')
	builder = Builder(kernel, jobs)
	try:
		run = run_variant(builder, converted_files(kernel, diff), Variant.CONVERTED, INTEL)
	except DattachError as err:
		raise CheckFailedError(f'boot proof: {err}') from err
	failed = [r for r in run.results if not r.passed]
	if failed:
		raise CheckFailedError(f'boot proof: {failed[0].name}: {failed[0].detail} '
				       f'(console log {run.log})')
	return [r.name for r in run.results]


def not_x86(kernel: tree.KernelTree) -> Optional[str]:
	"""Why the proof cannot run on this tree (it boots x86-64 under QEMU
	with an emulated Intel IOMMU), or None."""
	config = kernel.path / '.config'
	if config.is_file():
		text = config.read_text(errors='replace')
		if 'CONFIG_X86_64=y' not in text:
			arch = re.search(r'^CONFIG_(ARM64|ARM|RISCV|PPC|S390|MIPS)=y', text, re.M)
			return (f'only x86-64 trees boot under it; {config} is for '
				f'{arch.group(1).lower() if arch else "another architecture"}')
	for rel in ('arch/x86/Kconfig', 'drivers/iommu/intel'):
		if not (kernel.path / rel).exists():
			return f'only x86-64 trees with the Intel IOMMU driver: {rel} is missing'
	return None


# --- the command -------------------------------------------------------------------------------

def main(argv: Optional[list[str]] = None) -> int:
	parser = argparse.ArgumentParser(
		prog='boot-test', description='Boot the converted kernel under QEMU with an '
		'emulated IOMMU and take a kdump into a capture kernel; with the '
		'unconverted tree and two mutants as controls.')
	parser.add_argument('kdir', nargs='?', metavar='KDIR',
			    help="kernel tree (default: Debian's linux-source-6.1)")
	parser.add_argument('--mutant', choices=[v.value for v in MUTANT_LINE],
			    help='run this mutant alone, its checks as test lines')
	parser.add_argument('--unconverted', action='store_true',
			    help='run the unconverted tree alone')
	parser.add_argument('--iommu', choices=sorted(IOMMUS), action='append',
			    help='emulated IOMMU, every variant on it (default: every '
			    'variant on intel, the conversion on amd)')
	parser.add_argument('-j', '--jobs', type=int, default=0, help='make -j (default: CPUs)')
	args = parser.parse_args(argv)
	if args.mutant and args.unconverted:
		parser.error('--mutant and --unconverted: choose one')
	variants = ([Variant(args.mutant)] if args.mutant else
		    [Variant.UNCONVERTED] if args.unconverted else None)
	try:
		kernel = tree.open_tree(args.kdir) if args.kdir else None
		if kernel:
			refusal = not_x86(kernel)
			if refusal:
				raise BadInputError(f'{args.kdir}: {refusal}')
	except DattachError as err:
		print(f'boot-test: error: {err}', file=sys.stderr)
		return int(err.status)
	passed = failed = 0
	start = time.monotonic()
	iommus = [IOMMUS[n] for n in args.iommu] if args.iommu else None
	for result in results(kernel, variants, iommus, args.jobs):
		print(f'{"PASS" if result.passed else "FAIL"} {result.name}', flush=True)
		for line in result.detail.splitlines():
			print(f'    {line}', flush=True)
		passed += result.passed
		failed += not result.passed
	_say(f'took {time.monotonic() - start:.0f} s')
	print(f'{passed} passed, {failed} failed', flush=True)
	return 1 if failed else 0


if __name__ == '__main__':
	sys.exit(main())
