#!/usr/bin/env python3
"""Shrinks an ELF core into a small fuzz seed: ELF header, program headers and
notes kept whole, each PT_LOAD cut to its first KEEP bytes (p_filesz shrunk,
p_memsz kept), so every parser path (notes, segments, zero-fill, underlay)
still runs on a few KiB.   shrink_core.py IN OUT [KEEP]"""
import struct
import sys

src = open(sys.argv[1], "rb").read()
keep = int(sys.argv[3]) if len(sys.argv) > 3 else 128
phoff, = struct.unpack_from("<Q", src, 32)
phentsize, phnum = struct.unpack_from("<HH", src, 54)
out = bytearray(src[:phoff + phentsize * phnum])
phdrs = []
for i in range(phnum):
    phdrs.append(list(struct.unpack_from("<IIQQQQQQ", src, phoff + i * phentsize)))
for ph in phdrs:
    typ, flags, off, vaddr, paddr, filesz, memsz, align = ph
    n = filesz if typ == 4 else min(filesz, keep)  # PT_NOTE whole
    data = src[off:off + n]
    while len(out) % 8:
        out.append(0)
    ph[2] = len(out)
    ph[5] = len(data)
    out += data
for i, ph in enumerate(phdrs):
    struct.pack_into("<IIQQQQQQ", out, phoff + i * phentsize, *ph)
open(sys.argv[2], "wb").write(out)
