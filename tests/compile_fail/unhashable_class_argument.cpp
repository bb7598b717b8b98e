// expect: an argument type cannot be hashed
#include <recall/recall.hpp>
class opaque {
public:
  explicit opaque(int v) : m_v(v) {}
  int v() const { return m_v; }
private:
  int m_v;
};
double use(const opaque& o) { return o.v(); }
recall::memoize<&use> m;
