// The Redis consumer program: links recall's Redis store (hiredis) and describes a store without
// connecting. Exits non-zero if the description is not the one asked for.
#include <cstdio>
#include <string>

#include <recall/stores/redis_store.hpp>

int main() {
  const recall::redis_store store{"redis://127.0.0.1:1/0"};
  const std::string description = store.description();
  std::printf("consumer: %s\n", description.c_str());
  return description.find("127.0.0.1:1") == std::string::npos ? 1 : 0;
}
