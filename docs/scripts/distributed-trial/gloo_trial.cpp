// Trial: coordinator (rank 0) receives chunks of factor rows from workers over c10d Gloo;
// chunk indices handed out dynamically through the TCPStore's atomic add.
#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <unistd.h>
int main(int argc, char **argv) {
  int rank = std::atoi(getenv("RANK")), world = std::atoi(getenv("WORLD_SIZE"));
  int rowFloats = argc > 1 ? std::atoi(argv[1]) : 84; int chunkRows = 2048; int chunks = argc > 2 ? std::atoi(argv[2]) : 400;
  c10d::TCPStoreOptions so; so.port = 29511; so.isServer = rank == 0; so.numWorkers = world; so.waitWorkers = true;
  auto store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", so);
  auto opts = c10d::ProcessGroupGloo::Options::create();
  opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  c10d::ProcessGroupGloo pg(store, rank, world, opts);
  auto t0 = std::chrono::steady_clock::now();
  if (rank == 0) {
    int received = 0; torch::Tensor buf = torch::empty({chunkRows * rowFloats + 1});
    while (received < chunks) {
      std::vector<at::Tensor> v{buf}; auto w = pg.recvAnysource(v, 1); try { w->wait(std::chrono::milliseconds(5000)); } catch (const std::exception &e) { std::cout << "coordinator: " << e.what() << "\n"; return 3; } ++received;
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "rows/s " << chunks * double(chunkRows) / s << " MB/s " << chunks * double(chunkRows) * rowFloats * 4 / s / 1e6 << "\n";
  } else {
    torch::Tensor payload = torch::rand({chunkRows * rowFloats + 1});
    for (;;) {
      int64_t c = store->add("next", 1) - 1; if (c >= chunks) break;
      payload[0] = float(c); if (getenv("SLOW")) usleep(20000);
      std::vector<at::Tensor> v{payload}; pg.send(v, 0, 1)->wait();
    }
  }
  pg.barrier()->wait();
}
