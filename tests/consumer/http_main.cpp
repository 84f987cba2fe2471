// sked::http in a consumer's program: a dashboard server on a memory store, asked for its jobs on a
// free loopback port with a plain socket (the consumer links no HTTP library of its own).
#include <sked/http/server.hpp>
#include <sked/sked.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

int main() {
  auto store = std::make_shared<sked::MemoryJobStore>();
  sked::Job job;
  job.id = "consumer-job";
  job.name = "from a consumer";
  job.task = "report";
  job.trigger = std::make_shared<sked::IntervalTrigger>(sked::Duration{std::chrono::hours{1}});
  job.next_run_time = sked::SystemClock{}.now() + std::chrono::hours{1};
  store->add_job(job);

  sked::http::Server server{store, {.port = 0}};
  server.start();

  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(server.port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    std::cerr << "cannot connect to the dashboard on port " << server.port() << '\n';
    return 1;
  }
  const std::string request =
      "GET /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (send(fd, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) return 1;
  std::string response;
  char buffer[4096];
  for (ssize_t n = 0; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;)
    response.append(buffer, static_cast<std::size_t>(n));
  close(fd);
  server.stop();

  const bool ok = response.starts_with("HTTP/1.1 200") &&
                  response.find("\"id\":\"consumer-job\"") != std::string::npos;
  std::cout << "consumer_http: "
            << (ok ? "the dashboard listed the job" : "unexpected answer:\n" + response) << '\n';
  return ok ? 0 : 1;
}
