// TYPE-CHECK STAND-IN for Darwin (see ../../Package.swift). NHKit's Platform.swift uses only
// POSIX `utsname` / `uname` outside `#if os(macOS)` (sysctlbyname is under os(macOS), which is
// not compiled on Linux), so Glibc's POSIX declarations stand in for Darwin's:
// https://developer.apple.com/documentation/kernel/utsname (Darwin's `machine` is a 256-byte
// tuple, Glibc's 65 bytes; NHKit reads it through withUnsafeBytes, valid for both).
@_exported import Glibc
