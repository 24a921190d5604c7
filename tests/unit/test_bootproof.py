"""bootproof: how a console log is judged, and how the mutants are made.

The consoles here are written by us in the shape of a 6.1 kernel's serial
console with tests/boot/init's DATTACH lines; the real runs are the boot/
lines of make check."""

import tempfile
import unittest
from pathlib import Path

import _support
from dattach import bootproof
from dattach.bootproof import Boot, Variant
from dattach.errors import DattachError

SUM = 'a' * 64
PCI = '0000:00:03.0'


def trace(stage: str, via: str) -> list[str]:
	return [f'DATTACH {stage} trace  swapper/0-1 [000] ..... 1.5: attach_device_to_domain: '
		f'IOMMU: device={PCI}',
		f'DATTACH {stage} trace  swapper/0-1 [000] ..... 1.5: <stack trace>',
		f'DATTACH {stage} trace  => __iommu_attach_device',
		f'DATTACH {stage} trace  => {via}',
		f'DATTACH {stage} trace  => virtblk_probe']


def console(capture_events: int = 1, fault: bool = False, copied: bool = True,
	    capture_sum: str = SUM, kexec: str = 'loaded') -> list[str]:
	lines = ['Linux version 6.1.192 (gcc) #1',
		 'DMAR: IOMMU enabled',
		 'DATTACH first booted 6.1.192', 'DATTACH first groups 2',
		 f'DATTACH first disk-pci {PCI}', f'DATTACH first disk-group {PCI} 1',
		 f'DATTACH first checksum {SUM}']
	lines += trace('first', '__iommu_group_dma_attach')
	lines += ['DATTACH first trace-end', f'DATTACH first kexec {kexec}', 'DATTACH first crash',
		  'sysrq: Trigger a crash', 'Kernel panic - not syncing: sysrq triggered crash',
		  'Linux version 6.1.192 (gcc) #1']
	if copied:
		lines.append('DMAR: Translation already enabled - trying to copy translation structures')
	if fault:
		lines += ['DMAR: DRHD: handling fault status reg 2',
			  'DMAR: [DMA Read NO_PASID] Request device [00:03.0] fault addr 0xfff00000 '
			  '[fault reason 0x06] PTE Read access is not set']
	lines += ['DATTACH capture booted 6.1.192', f'DATTACH capture disk-pci {PCI}',
		  f'DATTACH capture checksum {capture_sum}']
	for _ in range(capture_events):
		lines += trace('capture', 'iommu_dma_alloc')
	lines += ['DATTACH capture trace-end', 'DATTACH capture done']
	return lines


def judge(lines: list[str]) -> dict[str, bootproof.Result]:
	boot = Boot(lines, [0.0] * len(lines), 1.0, 'qemu exited')
	return {r.name: r for r in bootproof.judge(boot, bootproof.INTEL, SUM)}


class JudgeTest(unittest.TestCase):

	def test_good_run_passes_every_check(self) -> None:
		results = judge(console())
		self.assertEqual([n for n, r in results.items() if not r.passed], [])
		self.assertEqual(len(results), 12)

	def test_panic_of_the_crash_is_no_splat(self) -> None:
		self.assertTrue(judge(console())['first/no-fault-or-splat'].passed)

	def test_dma_fault_fails_the_capture_kernel(self) -> None:
		results = judge(console(capture_events=0, fault=True, capture_sum='hang'))
		self.assertFalse(results['capture/no-dma-fault'].passed)
		self.assertIn('PTE Read access is not set', results['capture/no-dma-fault'].detail)
		self.assertFalse(results['capture/checksum'].passed)

	def test_attach_on_every_mapping_fails_the_count(self) -> None:
		results = judge(console(capture_events=3))
		self.assertFalse(results['capture/attached-once'].passed)
		self.assertIn('3 attach_device_to_domain events', results['capture/attached-once'].detail)

	def test_attach_not_from_the_dma_api_fails(self) -> None:
		lines = [l.replace('=> iommu_dma_alloc', '=> iommu_probe_device') for l in console()]
		self.assertFalse(judge(lines)['capture/attached-once'].passed)

	def test_no_translation_copy_fails(self) -> None:
		self.assertFalse(judge(console(copied=False))['capture/translation-copied'].passed)

	def test_hang_names_the_last_console_line(self) -> None:
		lines = console()[:8]
		boot = Boot(lines, [0.0] * len(lines), 1.0, 'hung: no console output for 240 s')
		results = {r.name: r for r in bootproof.judge(boot, bootproof.INTEL, SUM)}
		self.assertFalse(results['capture/boots'].passed)
		self.assertIn(f'last console line: {lines[-1]}', results['capture/boots'].detail)

	def test_kexec_failure_is_named(self) -> None:
		lines = console(kexec='failed no crashkernel')
		lines = lines[:lines.index('DATTACH first kexec failed no crashkernel') + 1]
		results = {r.name: r for r in bootproof.judge(
			Boot(lines, [0.0] * len(lines), 1.0, 'qemu exited'), bootproof.INTEL, SUM)}
		self.assertIn('kexec -p: failed no crashkernel', results['capture/boots'].detail)


class MutantTest(unittest.TestCase):
	CORE = (b'static int f(struct device *dev)\n{\n\tdev->iommu->attach_deferred = 1;\n'
		b'\treturn 0;\n}\n\tdev->iommu->attach_deferred = 0;\n')

	def test_each_mutant_deletes_its_line(self) -> None:
		files = {bootproof.IOMMU_C: self.CORE}
		never_set = bootproof.mutate(files, Variant.FLAG_NEVER_SET)[bootproof.IOMMU_C]
		never_cleared = bootproof.mutate(files, Variant.FLAG_NEVER_CLEARED)[bootproof.IOMMU_C]
		self.assertNotIn(b'= 1;', never_set)
		self.assertIn(b'= 0;', never_set)
		self.assertNotIn(b'= 0;', never_cleared)
		self.assertEqual(len(never_set), len(self.CORE) - len(b'\tdev->iommu->attach_deferred = 1;\n'))

	def test_no_such_line_is_an_error(self) -> None:
		with self.assertRaises(DattachError):
			bootproof.mutate({bootproof.IOMMU_C: b'int x;\n'}, Variant.FLAG_NEVER_SET)


class RefusalTest(unittest.TestCase):
	"""backport --boot runs on x86-64 trees only."""

	def tree(self, files: dict[str, str]) -> bootproof.tree.KernelTree:
		tmp = tempfile.TemporaryDirectory()
		self.addCleanup(tmp.cleanup)
		root = Path(tmp.name)
		for rel, text in {'Makefile': _support.MAKEFILE, 'include/linux/iommu.h': '',
				  **files}.items():
			(root / rel).parent.mkdir(parents=True, exist_ok=True)
			(root / rel).write_text(text)
		return bootproof.tree.open_tree(str(root))

	def test_arm64_config_is_refused(self) -> None:
		kernel = self.tree({'arch/x86/Kconfig': '', 'drivers/iommu/intel/Kconfig': '',
				    '.config': 'CONFIG_ARM64=y\n'})
		self.assertIn('is for arm64', bootproof.not_x86(kernel) or '')

	def test_tree_without_x86_is_refused(self) -> None:
		kernel = self.tree({'arch/arm64/Kconfig': ''})
		self.assertIn('arch/x86/Kconfig is missing', bootproof.not_x86(kernel) or '')

	def test_x86_tree_is_taken(self) -> None:
		kernel = self.tree({'arch/x86/Kconfig': '', 'drivers/iommu/intel/Kconfig': '',
				    '.config': 'CONFIG_X86_64=y\n'})
		self.assertIsNone(bootproof.not_x86(kernel))


if __name__ == '__main__':
	unittest.main()
