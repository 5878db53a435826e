"""Open Cap Format import and export."""

from captable.ocf.importer import ImportResult, import_package
from captable.ocf.reader import read_package
from captable.ocf.writer import package_files, write_package

__all__ = ["ImportResult", "import_package", "package_files", "read_package", "write_package"]
