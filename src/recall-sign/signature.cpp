#include "signature.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <ostream>
#include <set>
#include <tuple>

#include <recall/detail/key/xxh3.hpp>

namespace recall_sign {

namespace {

std::string hex_of(const std::string& text) { return recall::detail::xxh3_128(text.data(), text.size()).hex(); }

int role_rank(const std::string& role) { return role == "root" ? 0 : role == "uses" ? 1 : 2; }

// Root first, then what it uses by kind and name, then what could not be resolved.
bool ingredient_less(const ingredient& a, const ingredient& b) {
  const int ra = role_rank(a.role);
  const int rb = role_rank(b.role);
  return std::tie(ra, a.kind, a.name, a.hash, a.where.file, a.where.line) <
         std::tie(rb, b.kind, b.name, b.hash, b.where.file, b.where.line);
}

// The signature of one definition: itself and everything it reaches.
struct closure {
  std::string hex;
  std::vector<ingredient> ingredients;
};

closure close_over(const project& p, const std::string& root_key, const std::string& root_name,
                   std::set<std::string>& warned, std::ostream& log) {
  closure out;
  std::set<std::string> seen{root_key};
  std::deque<std::string> pending{root_key};
  while (!pending.empty()) {
    const std::string key = pending.front();
    pending.pop_front();
    const auto found = p.nodes.find(key);
    if (found == p.nodes.end()) {
      const auto declared = p.declared.find(key);
      const declaration d = declared != p.declared.end() ? declared->second : declaration{node_kind::function, key, {}};
      ingredient u{"unresolved", d.kind, d.name, d.where, ""};
      if (warned.insert(key).second) {
        log << "recall-sign: warning: " << u.name << " (declared at " << u.where.text() << ", used by " << root_name
            << ") is defined in no translation unit read; changes to its definition are not tracked\n";
      }
      out.ingredients.push_back(std::move(u));
      continue;
    }
    const node& n = found->second;
    out.ingredients.push_back({key == root_key ? "root" : "uses", n.kind, n.name, n.where, n.hash});
    for (const std::string& next : n.uses) {
      if (seen.insert(next).second) pending.push_back(next);
    }
  }
  std::sort(out.ingredients.begin(), out.ingredients.end(), ingredient_less);
  // The text hashed names no file and no line: a moved checkout hashes the same.
  std::string text = "recall-sign 1\n";
  for (const ingredient& i : out.ingredients) {
    if (i.role == "root") {
      text += "root " + std::string{kind_name(i.kind)} + " " + i.hash + "\n";
    } else if (i.role == "uses") {
      text += "uses " + std::string{kind_name(i.kind)} + " " + i.name + " " + i.hash + "\n";
    } else {
      text += "unresolved " + i.name + "\n";
    }
  }
  out.hex = hex_of(text);
  return out;
}

} // namespace

std::vector<signature> compute_signatures(const project& p, std::ostream& log) {
  std::map<std::string, std::set<std::string>> keys_by_name;
  std::set<std::string> warned;
  for (const root& r : p.roots) {
    if (!p.nodes.contains(r.key)) {
      if (warned.insert(r.key).second) {
        log << "recall-sign: warning: " << r.names.front() << " (memoized at " << r.site.text()
            << ") is defined in no translation unit read; its body is not tracked\n";
      }
      continue;
    }
    for (const std::string& name : r.names) keys_by_name[name].insert(r.key);
  }
  std::map<std::string, closure> closures;
  std::vector<signature> out;
  for (const auto& [name, keys] : keys_by_name) {
    signature s{name, {}, {}};
    std::vector<std::string> hexes;
    for (const std::string& key : keys) {
      auto found = closures.find(key);
      if (found == closures.end()) found = closures.emplace(key, close_over(p, key, name, warned, log)).first;
      hexes.push_back(found->second.hex);
      for (const ingredient& i : found->second.ingredients) {
        const auto same = [&i](const ingredient& j) { return !ingredient_less(i, j) && !ingredient_less(j, i); };
        if (std::find_if(s.ingredients.begin(), s.ingredients.end(), same) == s.ingredients.end()) {
          s.ingredients.push_back(i);
        }
      }
    }
    std::sort(hexes.begin(), hexes.end());
    std::string combined = "recall-sign combined 1\n";
    for (const std::string& h : hexes) combined += h + "\n";
    s.hex = hexes.size() == 1 ? hexes.front() : hex_of(combined);
    std::sort(s.ingredients.begin(), s.ingredients.end(), ingredient_less);
    out.push_back(std::move(s));
  }
  return out;
}

} // namespace recall_sign
