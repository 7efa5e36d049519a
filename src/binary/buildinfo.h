// .go.buildinfo: which Go toolchain built a binary, and with what settings.
//
// Private to the binary layer (elf_binary.cc and tests); other layers read the
// result through Binary::buildInfo().
//
// Layout (cmd/link/internal/ld/data.go buildinfo(); debug/buildinfo): a 32-byte
// header "\xff Go buildinf:" (14 bytes), ptrSize (byte 14), flags (byte 15:
// bit0 big-endian, bit1 inline strings). Since Go 1.18 (bit1 set) two
// uvarint-length-prefixed strings follow at byte 32: the runtime version and
// the modinfo. Before 1.18 bytes 16 and 16+ptrSize hold pointers to Go string
// headers {data, len} elsewhere in the data segment, read through the file
// image. The modinfo is wrapped in two 16-byte sentinels that are stripped.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "binary/binary.h"
#include "common/checked.h"

namespace gms {

inline constexpr std::string_view kBuildInfoMagic{"\xff Go buildinf:", 14};

// Parses the blob that starts with kBuildInfoMagic. `image` resolves the
// pointers of the pre-1.18 format. Throws Error(Corrupt/Unsupported).
GoBuildInfo parseBuildInfo(ByteView blob, const Memory& image);

// Fills major/minor/patch from a version such as "go1.19.8", "go1.21rc2",
// "go1.24.0 X:noswissmap" or "devel go1.27-abcdef ..."; leaves them 0 when the
// string does not name a release.
void parseGoVersion(std::string_view version, GoBuildInfo& out);

// Fills settings and mainPath from modinfo lines ("path\t...", "build\tK=V").
void parseModinfo(std::string_view modinfo, GoBuildInfo& out);

// Go's strconv.Unquote for double-quoted strings (the quoting
// runtime/debug.BuildSetting uses for keys/values with spaces or quotes);
// nullopt when s is not a valid quoted string.
std::optional<std::string> goUnquote(std::string_view s);

}  // namespace gms
