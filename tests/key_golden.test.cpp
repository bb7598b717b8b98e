// Golden key vectors: fixed inputs and the keys they must give, on every compiler and platform.
// A failure here means the key format changed: bump detail::key_format_version, explain the
// change, and only then record the new vectors (old caches are then ignored, not misread).
#include "catch.hpp"

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/hana/define_struct.hpp>

#include <recall/detail/key/call_key.hpp>
#include <recall/recall.hpp>

namespace golden {

struct params {
  BOOST_HANA_DEFINE_STRUCT(params, (double, dt), (int, steps), (std::string, integrator));
};

struct plain_params {
  double sigma;
  double rho;
  std::vector<double> weights;
};

double g_temperature = 300.0;

double simulate(const params& p, int steps) { return p.dt * steps; }
double lorenz(const plain_params& p) { return p.sigma * p.rho; }

} // namespace golden

static_assert(recall::detail::key_format_version == 1,
              "the key format changed: record new golden vectors for the new version below");

using recall::detail::hash_value;

TEST_CASE("golden value digests", "[key_golden]") {
  CHECK(hash_value(std::int32_t{42}).hex() == "9a455182d724f0341ad293a711858e8f");
  CHECK(hash_value(1.5).hex() == "8e19d0c57481c05d6d22fe9c07fa4107");
  CHECK(hash_value(std::string{"recall"}).hex() == "4476cca4c03ce5631849705fd15ad24f");
  CHECK(hash_value(std::vector<double>{1.0, 2.0, 3.0}).hex() == "1956c525280640b73ccd7a78fca660a3");
  CHECK(hash_value(std::map<std::string, int>{{"a", 1}, {"b", 2}}).hex() == "3ac6cc993ffae3dd767a405f71f7a8bf");
  CHECK(hash_value(std::unordered_map<std::string, int>{{"a", 1}, {"b", 2}}).hex() ==
        "2794ee55dca43c277da6bd9bfb44bfd8");
  CHECK(hash_value(std::optional<int>{}).hex() == "51025a4491835505e12ef9d2eb86ceeb");
  CHECK(hash_value(golden::params{0.01, 100, "rk4"}).hex() == "296205e3ccd76c4124efedf933eb461e");
  CHECK(hash_value(golden::plain_params{10.0, 28.0, {0.5}}).hex() == "d9dc7f7b79654fb05a833de9dc2e0bb4");
}

TEST_CASE("golden call keys", "[key_golden]") {
  const std::array<recall::key, 2> arguments{recall::key{1, 2}, recall::key{3, 4}};
  const std::array<recall::key, 1> globals{recall::key{5, 6}};
  CHECK(recall::detail::combine_call_key(recall::key{7, 8}, arguments, globals).hex() ==
        "e5059e970c995db4f4c8c943f5e98762");

  recall::memoize<&golden::simulate> sim{recall::options{.mode = recall::mode::off}};
  CHECK(sim.function().identity.hex() == "3ba442fecc6f67d1ac86d962e91bdd1f");
  CHECK(sim.key(golden::params{0.01, 100, "rk4"}, 1000).hex() == "4afbdc63532b366586fce8ece024663b");

  recall::memoize<&golden::lorenz, recall::globals<&golden::g_temperature>, recall::version<"2">> lz{
      recall::options{.mode = recall::mode::off}};
  CHECK(lz.key(golden::plain_params{10.0, 28.0, {0.5, 0.25}}).hex() == "c557c21725e7a19adf95c17a85e52130");

  auto named = recall::memoize_as<"golden-named">([](double a, double b) { return a + b; },
                                                  recall::options{.mode = recall::mode::off});
  CHECK(named.key(1.0, 2.0).hex() == "b2888c00d6bf1e7d81fd23b35fccdee3");
}
