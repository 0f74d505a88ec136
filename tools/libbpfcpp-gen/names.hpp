// Every name libbpfcpp-gen writes into a header comes from a Scope: unique where it is
// declared, never a C++ keyword, a macro of the C and POSIX headers a tool includes, or a
// name the generator itself declares there.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gen {

/// `name` with each character outside [A-Za-z0-9_] made '_' (and '_' in front of a
/// leading digit); keywords and macros are left to Scope.
std::string sanitized(std::string_view name);

/// `s` as a C++ string literal, quotes included.
std::string cpp_string(std::string_view s);

/// `s` safe in a // comment (and an error message): no byte can end the comment or continue
/// it onto the next line.
std::string comment_text(std::string_view s);

/// Whether `name` is a C++ keyword (or alternative token).
bool is_keyword(std::string_view name);

/// Whether `name` is usable as written: an identifier that is no C++ keyword and no macro
/// of the C library or POSIX headers (errno, assert, NULL, stdin, major, ...).
bool plain_identifier(std::string_view name);

/// Whether `name` is a function or variable of the C library (glibc's libc and libm),
/// which a tool may declare at global scope through any C header.
bool c_library_name(std::string_view name);

/// The names declared in one C++ scope of the output (the namespace, a struct, the
/// skeleton classes, Maps, Progs).
class Scope {
public:
    /// Names only the generator may declare here.
    void reserve(std::string_view name) { reserved_.insert(std::string(name)); }

    /// The C++ name of `raw` for `owner` (a key for what is named: the same owner always
    /// gets the same name): `raw` sanitized, with '_' appended while it is a keyword, a
    /// macro, reserved, or another owner's.
    std::string claim(std::string_view raw, const std::string& owner);

    /// claim() for each (raw, owner) in order, those usable as written first: a member
    /// `class_` keeps its name beside a `class`, which becomes `class__`.
    void claim_all(const std::vector<std::pair<std::string, std::string>>& names);

    /// Whether `name` is declared here (by anyone, or reserved).
    [[nodiscard]] bool taken(const std::string& name) const {
        return reserved_.count(name) != 0 || owners_.count(name) != 0;
    }

private:
    std::set<std::string> reserved_;
    std::map<std::string, std::string> owners_;  // name -> owner
    std::map<std::string, std::string> names_;   // owner -> name
};

}  // namespace gen
