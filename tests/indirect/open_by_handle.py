"""Opens each path given with open_by_handle_at(2) (the handle from name_to_handle_at(2)),
reads a byte and prints "opened PATH fd N". Python has no binding: libc through ctypes.
Used by tests/indirect.rs: the process never passes the path to an open call."""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
class FH(ctypes.Structure):
    _fields_ = [("handle_bytes", ctypes.c_uint), ("handle_type", ctypes.c_int), ("f_handle", ctypes.c_ubyte * 128)]

for path in sys.argv[1:]:
    fh = FH()
    fh.handle_bytes = 128
    mid = ctypes.c_int()
    if libc.name_to_handle_at(-100, path.encode(), ctypes.byref(fh), ctypes.byref(mid), 0) != 0:
        sys.exit("name_to_handle_at: " + os.strerror(ctypes.get_errno()))
    mfd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | os.O_DIRECTORY)
    fd = libc.open_by_handle_at(mfd, ctypes.byref(fh), os.O_RDONLY)
    if fd < 0:
        sys.exit("open_by_handle_at: " + os.strerror(ctypes.get_errno()))
    os.read(fd, 1)
    print("opened", path, "fd", fd)
    os.close(fd)
    os.close(mfd)
