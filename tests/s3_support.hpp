// Fixtures of the S3 store's tests: moto's S3 server and the fault proxy, started on free loopback
// ports and stopped by pid; a plain client for making buckets and reading or planting objects.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <recall/detail/stores/s3_client.hpp>

#include "support.hpp"

extern char** environ;

namespace s3_test {

using namespace std::chrono_literals;

// A port nothing listens on right now.
[[nodiscard]] inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error{"cannot bind a loopback socket"};
  }
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

[[nodiscard]] inline std::string python() {
  const char* p = std::getenv("RECALL_TEST_PYTHON");
  return p != nullptr && *p != '\0' ? p : "python3";
}

// A child process started with posix_spawnp, its stdout and stderr in `log`; killed when destroyed.
class child {
public:
  child(std::vector<std::string> args, const std::string& log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const int failed = ::posix_spawnp(&m_pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (failed != 0) {
      m_pid = -1;
      throw std::runtime_error{"cannot start " + args[0]};
    }
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;
  ~child() { stop(); }
  [[nodiscard]] bool running() {
    int status = 0;
    return m_pid > 0 && ::waitpid(m_pid, &status, WNOHANG) == 0;
  }
  void stop() {
    if (m_pid > 0) {
      ::kill(m_pid, SIGKILL);
      int status = 0;
      ::waitpid(m_pid, &status, 0);
      m_pid = -1;
    }
  }

private:
  pid_t m_pid = -1;
};

[[nodiscard]] inline std::string file_text(const std::string& path) {
  std::ifstream in{path};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A plain S3 client for the tests: buckets, raw objects.
class admin {
public:
  // Signs with `keys`; unsigned without.
  admin(std::string endpoint, std::optional<recall::detail::s3::credentials> keys)
      : m_endpoint{std::move(endpoint)}, m_client{std::move(keys), "us-east-1", 2000ms, 2} {}

  recall::detail::s3::response request(std::string_view method, const std::string& path, std::string_view body = {},
                                       bool upload = false) {
    recall::detail::s3::request r;
    r.method = method;
    r.url = m_endpoint + path;
    const std::array<std::string_view, 1> parts{body};
    if (upload || !body.empty()) {
      r.body = parts;
      r.upload = true;
    }
    r.max_response = std::uint64_t{64} << 20;
    r.deadline = std::chrono::steady_clock::now() + 10s;
    return m_client.perform(r);
  }

  void make_bucket(const std::string& bucket) {
    const auto got = request("PUT", "/" + bucket, {}, true);
    if (got.status != 200) {
      throw std::runtime_error{"cannot create bucket " + bucket + ": HTTP " + std::to_string(got.status) + " " +
                               got.body};
    }
  }

  // The object's bytes, or nullopt when it does not exist.
  std::optional<std::string> get(const std::string& bucket, const std::string& object) {
    const auto got = request("GET", "/" + bucket + "/" + object);
    if (got.status == 404) {
      return std::nullopt;
    }
    if (got.status != 200) {
      throw std::runtime_error{"GET " + object + ": HTTP " + std::to_string(got.status)};
    }
    return got.body;
  }

  void put(const std::string& bucket, const std::string& object, std::string_view bytes) {
    const auto got = request("PUT", "/" + bucket + "/" + object, bytes, true);
    if (got.status != 200) {
      throw std::runtime_error{"PUT " + object + ": HTTP " + std::to_string(got.status)};
    }
  }

  // The status of a GET of the service's root, or 0 when the server does not answer.
  long status_of_root() {
    try {
      recall::detail::s3::request r;
      r.method = "GET";
      r.url = m_endpoint + "/";
      r.deadline = std::chrono::steady_clock::now() + 1s;
      return m_client.perform(r).status;
    } catch (const std::exception&) {
      return 0;
    }
  }

private:
  std::string m_endpoint;
  recall::detail::s3::client m_client;
};

// moto's S3 server on 127.0.0.1 (python3 -m moto.server), one per test process (it takes about
// a second to start), stopped when the process exits. It checks every request's SigV4 signature
// against an IAM user's key, made with boto3 (moto's own dependency) during the few requests it
// lets through unauthenticated; so a request libcurl signs wrongly fails the tests. Each test
// uses buckets of its own.
class moto {
public:
  static moto& instance() {
    static moto server;
    return server;
  }

  [[nodiscard]] const std::string& endpoint() const { return m_endpoint; }
  [[nodiscard]] int port() const { return m_port; }
  [[nodiscard]] const recall::detail::s3::credentials& keys() const { return m_keys; }

  // A new, empty bucket.
  std::string bucket() {
    const std::string name = "recall-test-" + std::to_string(++m_buckets);
    admin{m_endpoint, m_keys}.make_bucket(name);
    return name;
  }

private:
  moto() {
    const std::string log = (m_dir.path() / "moto.log").string();
    for (int attempt = 0; attempt < 3 && !m_process; ++attempt) {
      m_port = free_port();
      m_endpoint = "http://127.0.0.1:" + std::to_string(m_port);
      ::setenv("INITIAL_NO_AUTH_ACTION_COUNT", "20", 1); // read by moto at start: auth after 20 requests
      auto process = std::make_unique<child>(
          std::vector<std::string>{python(), "-m", "moto.server", "-H", "127.0.0.1", "-p", std::to_string(m_port)},
          log);
      ::unsetenv("INITIAL_NO_AUTH_ACTION_COUNT");
      admin probe{m_endpoint, std::nullopt};
      for (int i = 0; i < 300 && process->running(); ++i) {
        if (probe.status_of_root() != 0) {
          m_process = std::move(process);
          break;
        }
        std::this_thread::sleep_for(20ms);
      }
    }
    if (!m_process) {
      throw std::runtime_error{"moto's S3 server did not start; its log:\n" + file_text(log)};
    }
    make_keys();
    // Spend the rest of the unauthenticated requests: from now on, every one must be signed.
    admin anonymous{m_endpoint, std::nullopt};
    for (int i = 0; i < 30 && anonymous.status_of_root() == 200; ++i) {
    }
    // A request signed with a wrong secret must be refused.
    auto wrong = m_keys;
    wrong.secret_access_key = "not-the-secret";
    if (admin{m_endpoint, wrong}.request("PUT", "/recall-signature-check", {}, true).status != 403) {
      throw std::runtime_error{"moto does not check signatures; its log:\n" + file_text(log)};
    }
  }

  // An IAM user allowed s3:*, and its access key, through moto's IAM API.
  void make_keys() {
    const std::string script =
        "import boto3, json, sys\n"
        "iam = boto3.client('iam', endpoint_url=sys.argv[1], region_name='us-east-1',"
        " aws_access_key_id='x', aws_secret_access_key='x')\n"
        "iam.create_user(UserName='recall')\n"
        "k = iam.create_access_key(UserName='recall')['AccessKey']\n"
        "iam.put_user_policy(UserName='recall', PolicyName='s3', PolicyDocument=json.dumps({'Version': '2012-10-17',"
        " 'Statement': [{'Effect': 'Allow', 'Action': 's3:*', 'Resource': '*'}]}))\n"
        "print(k['AccessKeyId'], k['SecretAccessKey'])\n";
    const std::string script_file = (m_dir.path() / "keys.py").string();
    std::ofstream{script_file} << script;
    const std::string command = python() + " " + script_file + " " + m_endpoint + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    std::string out;
    char buffer[512];
    while (pipe != nullptr && std::fgets(buffer, sizeof buffer, pipe) != nullptr) {
      out += buffer;
    }
    const int status = pipe != nullptr ? ::pclose(pipe) : -1;
    std::istringstream words{out};
    words >> m_keys.access_key_id >> m_keys.secret_access_key;
    if (status != 0 || m_keys.secret_access_key.empty()) {
      throw std::runtime_error{"could not make an IAM key on moto: " + out};
    }
    m_keys.source = "moto IAM user";
  }

  recall_test::temp_dir m_dir;
  std::unique_ptr<child> m_process;
  int m_port = 0;
  std::string m_endpoint;
  int m_buckets = 0;
  recall::detail::s3::credentials m_keys;
};

// The credentials every test runs with: moto's IAM user's, in the environment where the store
// looks first.
inline void use_test_credentials() {
  const auto& keys = moto::instance().keys();
  ::setenv("AWS_ACCESS_KEY_ID", keys.access_key_id.c_str(), 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", keys.secret_access_key.c_str(), 1);
  ::unsetenv("AWS_SESSION_TOKEN");
  ::unsetenv("AWS_PROFILE");
}

// The fault proxy (tests/helpers/s3_fault_proxy.py) in front of moto, one per test process:
// set() picks how it treats new connections.
class fault_proxy {
public:
  static fault_proxy& instance() {
    static fault_proxy proxy;
    return proxy;
  }

  void set(const std::string& mode) {
    std::ofstream out{mode_file(), std::ios::trunc};
    out << mode << '\n';
  }

  [[nodiscard]] std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(m_port); }

  // Connections accepted so far.
  [[nodiscard]] int connections() const {
    const std::string text = file_text(mode_file() + ".connections");
    return text.empty() ? 0 : std::stoi(text);
  }

private:
  fault_proxy() {
    const char* script = std::getenv("RECALL_TEST_S3_FAULT_PROXY");
    if (script == nullptr) {
      throw std::runtime_error{"RECALL_TEST_S3_FAULT_PROXY is not set (run through meson test)"};
    }
    set("pass");
    const std::string log = (m_dir.path() / "proxy.out").string();
    m_process = std::make_unique<child>(
        std::vector<std::string>{python(), script, std::to_string(moto::instance().port()), mode_file()}, log);
    for (int i = 0; i < 250 && m_port == 0; ++i) {
      const std::string out = file_text(log);
      if (!out.empty() && out.back() == '\n') {
        m_port = std::stoi(out);
      } else {
        std::this_thread::sleep_for(20ms);
      }
    }
    if (m_port == 0) {
      throw std::runtime_error{"the fault proxy did not start: " + file_text(log)};
    }
  }

  [[nodiscard]] std::string mode_file() const { return (m_dir.path() / "mode").string(); }

  recall_test::temp_dir m_dir;
  std::unique_ptr<child> m_process;
  int m_port = 0;
};

} // namespace s3_test
