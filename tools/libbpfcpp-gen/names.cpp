#include "names.hpp"

#include <cctype>
#include <cstdio>

namespace gen {

namespace {

// C++20 keywords and alternative tokens: members and types of C code may use any of them.
const std::set<std::string_view> cpp_keywords = {
    "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case",
    "catch", "char", "char8_t", "char16_t", "char32_t", "class", "compl", "concept", "const", "consteval",
    "constexpr", "constinit", "const_cast", "continue", "co_await", "co_return", "co_yield", "decltype",
    "default", "delete", "do", "double", "dynamic_cast", "else", "enum", "explicit", "export", "extern",
    "false", "float", "for", "friend", "goto", "if", "inline", "int", "long", "mutable", "namespace", "new",
    "noexcept", "not", "not_eq", "nullptr", "operator", "or", "or_eq", "private", "protected", "public",
    "register", "reinterpret_cast", "requires", "return", "short", "signed", "sizeof", "static",
    "static_assert", "static_cast", "struct", "switch", "template", "this", "thread_local", "throw", "true",
    "try", "typedef", "typeid", "typename", "union", "unsigned", "using", "virtual", "void", "volatile",
    "wchar_t", "while", "xor", "xor_eq"};

// Macros that the headers a skeleton includes (the C++ library, libbpf's, and through them
// glibc's <errno.h>, <stdio.h>, <stdlib.h>, <assert.h>, <sys/types.h>, <sys/sysmacros.h>,
// <sys/select.h>, <signal.h>, <limits.h>, <stdarg.h>, <setjmp.h>, <netinet/in.h>) define,
// or that GNU modes predefine (linux, unix): a member named errno would expand to
// (*__errno_location ()). Function-like ones break only a name followed by '(', which an
// accessor is; they are avoided everywhere alike.
const std::set<std::string_view> c_macros = {
    "errno", "assert", "NULL", "stdin", "stdout", "stderr", "EOF", "BUFSIZ", "FILENAME_MAX", "FOPEN_MAX",
    "EXIT_SUCCESS", "EXIT_FAILURE", "RAND_MAX", "MB_CUR_MAX", "CHAR_BIT", "major", "minor", "makedev",
    "offsetof", "setjmp", "va_start", "va_arg", "va_end", "va_copy", "alloca", "linux", "unix", "SIG_DFL",
    "SIG_IGN", "SIG_ERR", "FD_SET", "FD_CLR", "FD_ISSET", "FD_ZERO", "FD_SETSIZE", "htons", "htonl", "ntohs",
    "ntohl", "MIN", "MAX", "L_tmpnam", "TMP_MAX", "SEEK_SET", "SEEK_CUR", "SEEK_END", "WEXITSTATUS",
    "WIFEXITED", "WTERMSIG", "WIFSIGNALED", "INT_MAX", "INT_MIN", "UINT_MAX", "LONG_MAX", "LONG_MIN",
    "ULONG_MAX", "SHRT_MAX", "SHRT_MIN", "USHRT_MAX", "CHAR_MAX", "CHAR_MIN", "SCHAR_MAX", "SCHAR_MIN",
    "UCHAR_MAX", "LLONG_MAX", "LLONG_MIN", "ULLONG_MAX", "PATH_MAX", "NAME_MAX", "PIPE_BUF"};

}  // namespace

std::string sanitized(std::string_view name) {
    std::string out = name.empty() || std::isdigit(static_cast<unsigned char>(name[0])) != 0 ? "_" : "";
    for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' ? c : '_';
    return out;
}

// `s` as a C++ string literal: quotes, backslashes and control characters escaped (octal,
// which unlike \x cannot run into the next character).
std::string cpp_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u >= 0x7f) {
            char oct[8];
            std::snprintf(oct, sizeof oct, "\\%03o", u);
            out += oct;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

// `s` for a // comment: a newline would end it (and start a line of code), a backslash at
// its end would continue it onto the next; both, and every other unprintable byte, are
// written as \xNN.
std::string comment_text(std::string_view s) {
    std::string out;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f || c == '\\') {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", u);
            out += hex;
        } else {
            out += c;
        }
    }
    return out;
}

bool is_keyword(std::string_view name) { return cpp_keywords.count(name) != 0; }

bool plain_identifier(std::string_view name) {
    return !name.empty() && sanitized(name) == name && cpp_keywords.count(name) == 0 && c_macros.count(name) == 0;
}

std::string Scope::claim(std::string_view raw, const std::string& owner) {
    if (auto it = names_.find(owner); it != names_.end()) return it->second;
    std::string name = sanitized(raw);
    while (!plain_identifier(name) || taken(name)) name += '_';
    owners_[name] = owner;
    names_[owner] = name;
    return name;
}

void Scope::claim_all(const std::vector<std::pair<std::string, std::string>>& names) {
    for (const auto& [raw, owner] : names)
        if (plain_identifier(raw) && !taken(raw)) claim(raw, owner);
    for (const auto& [raw, owner] : names) claim(raw, owner);
}

}  // namespace gen
