"""Zip packages for the platforms an exercise is exported to (a Canvas QTI import, a Gradescope autograder): the same
exercise gives the same bytes, so a package can be compared, cached and committed like any other output."""

import io
import zipfile

ZIP_TIME = (1980, 1, 1, 0, 0, 0)      # the earliest time a zip entry can hold, for every entry
STORED = (".whl", ".zip")             # already compressed: deflating again only costs time


def zip_bytes(entries: dict[str, tuple[bytes, int]]) -> bytes:
    """A zip of ``entries`` (name -> (data, Unix mode such as ``0o644`` or ``stat.S_IFREG | 0o755``)), in name
    order, each with the same time and its mode kept (``unzip`` restores it: a script stays executable)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(entries):
            data, mode = entries[name]
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.create_system = 3                                 # Unix, so the modes below are read
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_STORED if name.endswith(STORED) else zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()
