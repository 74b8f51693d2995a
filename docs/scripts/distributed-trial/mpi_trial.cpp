#include <mpi.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>
int main(int argc, char **argv) {
  MPI_Init(&argc, &argv); int rank, world; MPI_Comm_rank(MPI_COMM_WORLD, &rank); MPI_Comm_size(MPI_COMM_WORLD, &world);
  int rowFloats = argc > 1 ? atoi(argv[1]) : 84, chunkRows = 2048, chunks = argc > 2 ? atoi(argv[2]) : 400;
  std::vector<float> buf(size_t(chunkRows) * rowFloats + 1, 0.5f);
  auto t0 = std::chrono::steady_clock::now();
  if (rank == 0) {
    int next = 0, done = 0, received = 0;
    // Dynamic: a worker asks (tag 1), gets a chunk index (or -1), sends the rows (tag 2).
    while (done < world - 1) {
      MPI_Status st; MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
      if (st.MPI_TAG == 1) { int dummy; MPI_Recv(&dummy, 1, MPI_INT, st.MPI_SOURCE, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        int c = next < chunks ? next++ : -1; if (c < 0) ++done; MPI_Send(&c, 1, MPI_INT, st.MPI_SOURCE, 3, MPI_COMM_WORLD); }
      else { MPI_Recv(buf.data(), int(buf.size()), MPI_FLOAT, st.MPI_SOURCE, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE); ++received; }
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    printf("rows/s %.0f MB/s %.1f\n", received * double(chunkRows) / s, received * double(chunkRows) * rowFloats * 4 / s / 1e6);
  } else {
    for (;;) { int ask = 0, c; MPI_Send(&ask, 1, MPI_INT, 0, 1, MPI_COMM_WORLD); MPI_Recv(&c, 1, MPI_INT, 0, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (c < 0) break; buf[0] = float(c); MPI_Send(buf.data(), int(buf.size()), MPI_FLOAT, 0, 2, MPI_COMM_WORLD); }
  }
  MPI_Finalize();
}
