#include "distributed/clustercompute.h"

#include "model/modelrunner.h"
#include "distributed/wireformat.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace traclens {

namespace {

using Clock = std::chrono::steady_clock;
using StorePtr = c10::intrusive_ptr<c10d::TCPStore>;
using GroupPtr = c10::intrusive_ptr<c10d::ProcessGroupGloo>;

// Store keys (TCPStore adds its own "/" prefix).
const std::string kPlan = "traclens/plan";
const std::string kAbort = "traclens/abort";            // the coordinator's reason to stop
const std::string kNext = "traclens/next";              // chunk counter
const std::string kFailures = "traclens/failures";      // count of failed/<rank>
const std::string kFinished = "traclens/finished";      // every chunk committed
const std::string kExited = "traclens/exited";          // workers that saw the end
std::string chunkKey(int64_t t) { return "traclens/chunk/" + std::to_string(t); }
std::string hostKey(int rank) { return "traclens/host/" + std::to_string(rank); }
std::string beatKey(int rank) { return "traclens/beat/" + std::to_string(rank); }
std::string doneKey(int rank) { return "traclens/done/" + std::to_string(rank); }
std::string failedKey(int rank) { return "traclens/failed/" + std::to_string(rank); }

constexpr int kTagHeader = 1;
constexpr int kTagRows = 2;

std::vector<uint8_t> bytes(const std::string &s)
{
    return {s.begin(), s.end()};
}

std::string text(const std::vector<uint8_t> &b)
{
    return {b.begin(), b.end()};
}

// c10 errors carry a C++ backtrace after the message; people need the first line.
std::string describe(const std::exception &e)
{
    std::string m;
    if (const auto *c10 = dynamic_cast<const c10::Error *>(&e))
        m = c10->what_without_backtrace();
    else
        m = e.what();
    const size_t nl = m.find('\n');
    return nl == std::string::npos ? m : m.substr(0, nl);
}

std::string storeAddress(const ClusterRole &role)
{
    return role.masterAddr + ":" + std::to_string(role.masterPort);
}

// `countAsRank`: this connection is one of the world's ranks (the server waits for all
// of them); watchdog connections are extra and do not count.
StorePtr openStore(const ClusterRole &role, bool countAsRank, std::chrono::milliseconds timeout)
{
    c10d::TCPStoreOptions o;
    o.port = uint16_t(role.masterPort);
    o.isServer = role.isCoordinator() && countAsRank;
    // Every rank's connection counts itself in (TCPStore skips that without numWorkers).
    if (countAsRank)
        o.numWorkers = size_t(role.worldSize);
    o.waitWorkers = countAsRank;
    o.timeout = timeout;
    return c10::make_intrusive<c10d::TCPStore>(role.masterAddr, o);
}

bool isLoopback(const std::string &host)
{
    return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

GroupPtr openGroup(const StorePtr &store, const ClusterRole &role)
{
    auto opts = c10d::ProcessGroupGloo::Options::create();
    // GLOO_SOCKET_IFNAME picks the network as in PyTorch; a run whose rank 0 is on the
    // loopback address is on one machine and stays there.
    if (const char *ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (isLoopback(role.masterAddr))
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
        opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("traclens/gloo", store);
    return c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, role.rank, role.worldSize, opts);
}

// ---- coordinator

struct Arrival {
    int source = -1;
    at::Tensor payload;
    Status status;
};

// Chunks received by the receiver thread, waiting for the committing thread.
class Inbox {
public:
    void push(Arrival a)
    {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_items.push_back(std::move(a));
        }
        m_cv.notify_one();
    }
    bool pop(Arrival *out, std::chrono::milliseconds wait)
    {
        std::unique_lock<std::mutex> lock(m_mutex);
        if (!m_cv.wait_for(lock, wait, [&] { return !m_items.empty(); }))
            return false;
        *out = std::move(m_items.front());
        m_items.pop_front();
        return true;
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<Arrival> m_items; // GUARDED_BY(m_mutex)
};

// What a coordinator holds. Shared with the receiver thread; leaked after a failure,
// when that thread may be blocked in Gloo for good.
struct CoordinatorSession {
    StorePtr store;
    GroupPtr group;
    Inbox inbox;
    std::atomic<bool> stopping{false};
    std::thread receiver;
};

void receive(CoordinatorSession *s, int64_t chunks)
{
    try {
        for (int64_t i = 0; i < chunks && !s->stopping; ++i) {
            at::Tensor header = at::empty({2}, at::kLong);
            std::vector<at::Tensor> h{header};
            auto w = s->group->recvAnysource(h, kTagHeader);
            w->wait();
            const int source = w->sourceRank();
            const int64_t size = header.data_ptr<int64_t>()[0];
            if (size < 0 || size > (int64_t(1) << 40))
                throw std::runtime_error("a garbled header from rank " + std::to_string(source));
            at::Tensor payload = at::empty({size}, at::kByte);
            std::vector<at::Tensor> p{payload};
            s->group->recv(p, source, kTagRows)->wait();
            s->inbox.push({source, payload, Status::ok()});
        }
    } catch (const std::exception &e) {
        s->inbox.push({-1, {}, Status::ioError("receiving factor rows: " + describe(e))});
    }
}

class Coordinator {
public:
    Coordinator(ProjectDb &db, const ClusterRole &role, const DistributedOptions &options)
        : m_db(db), m_role(role), m_options(options), m_session(std::make_unique<CoordinatorSession>())
    {
    }
    ~Coordinator()
    {
        if (m_leak) {
            // Threads may be blocked in Gloo: nothing here can be destroyed safely.
            m_session->receiver.detach();
            (void)m_session.release();
        } else if (m_session->receiver.joinable()) {
            m_session->receiver.join();
        }
    }

    Status connect()
    {
        try {
            m_session->store = openStore(m_role, true, m_options.connectTimeout);
        } catch (const std::exception &e) {
            return Status::ioError("the coordinator could not serve the store at " + storeAddress(m_role)
                                   + " for all " + std::to_string(m_role.worldSize)
                                   + " processes: " + describe(e));
        }
        return Status::ok();
    }

    // Tells the workers to stop with `s`, and gives them a moment to read why.
    Status abort(const Status &s)
    {
        m_leak = true;
        m_session->stopping = true;
        try {
            auto &store = *m_session->store;
            store.set(kAbort, bytes(s.message()));
            const auto until = Clock::now() + std::min(m_options.heartbeatTimeout, std::chrono::milliseconds(5000));
            int live = 0;
            for (int r = 1; r < m_role.worldSize; ++r)
                live += m_dead.count(r) ? 0 : 1;
            while (Clock::now() < until && store.add(kExited, 0) < live)
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
        } catch (const std::exception &) {
            // The store is gone: workers notice that as well.
        }
        return s;
    }

    Result<ComputeSummary> run(const ComputePlan &plan, const ProgressFn &progress, const CancelFlag *cancel)
    {
        try {
            return runUnguarded(plan, progress, cancel);
        } catch (const std::exception &e) {
            return abort(Status::ioError("distributed compute (coordinator): " + describe(e)));
        }
    }

private:
    Result<ComputeSummary> runUnguarded(const ComputePlan &plan, const ProgressFn &progress,
                                        const CancelFlag *cancel)
    {
        auto &store = *m_session->store;
        const int64_t n = int64_t(plan.chunks.size());
        for (int64_t t = 0; t < n; ++t)
            store.set(chunkKey(t), wire::encodeChunk(plan.chunks[size_t(t)]));
        store.set(kPlan, wire::encodePlanHeader(plan));
        if (progress)
            progress({"compute", "connecting the workers", 0, 0});
        m_session->group = openGroup(m_session->store, m_role);
        for (int r = 1; r < m_role.worldSize; ++r)
            m_hosts[r] = store.check({hostKey(r)}) ? text(store.get(hostKey(r))) : "unknown host";
        m_session->receiver = std::thread(receive, m_session.get(), n);

        ComputeSummary summary;
        summary.reused = plan.reused;
        std::vector<char> received(size_t(n), 0);
        std::map<int, int64_t> pairsBy;
        int64_t committed = 0, pairsDone = 0;
        const auto started = Clock::now();
        auto lastCheck = started;
        std::map<int, int64_t> lastBeat;
        std::map<int, Clock::time_point> beatAt;
        for (int r = 1; r < m_role.worldSize; ++r)
            beatAt[r] = started;
        Clock::time_point allDoneAt{};
        if (Status s = beginCompute(m_db, plan); !s)
            return abort(s);

        while (committed < n) {
            if (isCancelled(cancel)) {
                m_db.setJob({"compute:" + std::to_string(plan.modelId), "cancelled", plan.reused + pairsDone,
                             plan.pairsTotal, 0, ""});
                return abort(Status::cancelled("compute cancelled on the coordinator; finished chunks are kept "
                                               "and the next run resumes"));
            }
            Arrival a;
            if (m_session->inbox.pop(&a, std::chrono::milliseconds(100))) {
                if (!a.status) {
                    // A peer's connection closed: a worker that failed (its report is on its
                    // way) or died (its heartbeat stops). Gloo does not say which rank, so
                    // the checks below name it; the receiver's error is the last resort.
                    m_receiveError = a.status;
                    m_receiveErrorAt = Clock::now();
                    continue;
                }
                int64_t t = -1;
                auto rows = wire::decodeFactors(a.payload.data_ptr<uint8_t>(), size_t(a.payload.numel()), &t);
                if (!rows.ok())
                    return abort(rows.status().withContext("from " + name(a.source)));
                if (t < 0 || t >= n || received[size_t(t)] || rows->begin != plan.chunks[size_t(t)].begin)
                    return abort(Status::internal(name(a.source) + " sent rows for chunk " + std::to_string(t)
                                                  + ", which was not expected"));
                received[size_t(t)] = 1;
                if (Status s = commitChunk(m_db, plan, *rows, &pairsDone); !s)
                    return abort(s);
                ++committed;
                pairsBy[a.source] += rows->pairs();
                if (progress)
                    progress({"compute", rates(pairsBy, started), plan.reused + pairsDone, plan.pairsTotal});
            }
            const auto now = Clock::now();
            if (!m_receiveError.isOk() && now - m_receiveErrorAt > m_options.heartbeatTimeout * 2)
                return abort(m_receiveError);
            if (now - lastCheck < std::min(m_options.heartbeatInterval, std::chrono::milliseconds(500))
                && m_receiveError.isOk())
                continue;
            lastCheck = now;
            if (store.add(kFailures, 0) > 0)
                for (int r = 1; r < m_role.worldSize; ++r)
                    if (store.check({failedKey(r)}))
                        return abort(Status::ioError(text(store.get(failedKey(r)))));
            int done = 0;
            for (int r = 1; r < m_role.worldSize; ++r) {
                if (m_done.count(r) || store.check({doneKey(r)})) {
                    m_done.insert(r);
                    ++done;
                    continue;
                }
                const int64_t beat = store.add(beatKey(r), 0);
                if (beat != lastBeat[r]) {
                    lastBeat[r] = beat;
                    beatAt[r] = now;
                } else if (now - beatAt[r] > m_options.heartbeatTimeout) {
                    m_dead.insert(r);
                    const double s = std::chrono::duration<double>(now - beatAt[r]).count();
                    char secs[32];
                    std::snprintf(secs, sizeof secs, "%.1f", s);
                    return abort(Status::ioError(
                        name(r) + " stopped: no heartbeat for " + secs
                        + " s (killed, crashed or its machine is unreachable). " + std::to_string(committed) + " of "
                        + std::to_string(n) + " chunks were committed and are kept; run the same command again "
                        "(with any number of processes) to compute the rest"));
                }
            }
            // Every worker has sent all it had; rows still in flight arrive within moments.
            if (done == m_role.worldSize - 1) {
                if (allDoneAt == Clock::time_point{})
                    allDoneAt = now;
                else if (now - allDoneAt > m_options.heartbeatTimeout)
                    return abort(Status::internal("the workers finished but " + std::to_string(n - committed)
                                                  + " chunks never arrived; run the same command again to "
                                                  "compute them"));
            }
        }
        summary.computed = pairsDone;
        summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
        summary.vectorsPerSecond = summary.seconds > 0 ? double(pairsDone) / summary.seconds : 0.0;
        store.set(kFinished, bytes("1"));
        if (m_session->receiver.joinable())
            m_session->receiver.join();
        m_finished = true;
        return summary;
    }

public:
    // After the last commit: waits (briefly) until the workers saw the end, so none of
    // them mistakes the store closing for a lost coordinator.
    void waitForWorkersToLeave()
    {
        if (!m_finished)
            return;
        try {
            const auto until = Clock::now() + m_options.heartbeatTimeout;
            while (Clock::now() < until && m_session->store->add(kExited, 0) < m_role.worldSize - 1)
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
        } catch (const std::exception &) {
        }
    }

private:
    std::string name(int rank) const
    {
        auto it = m_hosts.find(rank);
        return "rank " + std::to_string(rank) + " on " + (it == m_hosts.end() ? "unknown host" : it->second);
    }

    static std::string rates(const std::map<int, int64_t> &pairsBy, Clock::time_point started)
    {
        const double s = std::max(1e-3, std::chrono::duration<double>(Clock::now() - started).count());
        std::string out = "TracIn factors";
        char buf[64];
        for (const auto &[rank, pairs] : pairsBy) {
            std::snprintf(buf, sizeof buf, "%s rank %d %.0f/s", out.size() > 14 ? "," : ";", rank, double(pairs) / s);
            out += buf;
        }
        return out;
    }

    ProjectDb &m_db;
    ClusterRole m_role;
    DistributedOptions m_options;
    std::unique_ptr<CoordinatorSession> m_session;
    std::map<int, std::string> m_hosts;
    std::set<int> m_done, m_dead;
    bool m_leak = false;
    bool m_finished = false;
    Status m_receiveError;
    Clock::time_point m_receiveErrorAt;
};

// ---- worker

Status lostCoordinator(const ClusterRole &role, const std::exception &e)
{
    return Status::ioError(role.name() + ": lost the coordinator (rank 0, store at " + storeAddress(role)
                           + "): " + describe(e) + ". Chunks it committed are kept; run the same command again "
                           "to resume");
}

// Beats on its own store connection (the main one may be busy in a long wait) and
// watches for the coordinator's end: an abort key, or the store failing.
class Watchdog {
public:
    Watchdog(const ClusterRole &role, const DistributedOptions &options, StopHandler onStop)
        : m_role(role), m_options(options), m_onStop(std::move(onStop))
    {
    }
    ~Watchdog() { stop(); }

    Status start()
    {
        try {
            m_store = openStore(m_role, false, std::max(m_options.heartbeatTimeout, std::chrono::milliseconds(30000)));
            m_store->add(beatKey(m_role.rank), 1);
        } catch (const std::exception &e) {
            return Status::ioError(m_role.name() + ": cannot reach the coordinator's store at " + storeAddress(m_role)
                                   + ": " + describe(e));
        }
        m_thread = std::thread([this] { loop(); });
        return Status::ok();
    }
    void stop()
    {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_quit = true;
        }
        m_cv.notify_all();
        if (m_thread.joinable())
            m_thread.join();
    }
    // The reason to stop, once the handler has returned; ok while running.
    Status stopped()
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        return m_stopped;
    }

private:
    void loop()
    {
        for (;;) {
            {
                std::unique_lock<std::mutex> lock(m_mutex);
                if (m_cv.wait_for(lock, m_options.heartbeatInterval, [&] { return m_quit; }))
                    return;
            }
            Status reason;
            try {
                m_store->add(beatKey(m_role.rank), 1);
                if (m_store->check({kAbort})) {
                    reason = Status::ioError(m_role.name() + ": the coordinator stopped the run: "
                                             + text(m_store->get(kAbort)));
                    m_store->add(kExited, 1);
                }
            } catch (const std::exception &e) {
                reason = lostCoordinator(m_role, e);
            }
            if (!reason.isOk()) {
                {
                    std::lock_guard<std::mutex> lock(m_mutex);
                    m_stopped = reason;
                }
                if (m_onStop)
                    m_onStop(reason);
                return;
            }
        }
    }

    ClusterRole m_role;
    DistributedOptions m_options;
    StopHandler m_onStop;
    StorePtr m_store;
    std::thread m_thread;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_quit = false;        // GUARDED_BY(m_mutex)
    Status m_stopped;           // GUARDED_BY(m_mutex)
};

// A chunk's rows on their way to rank 0; the tensors live until the sends complete.
struct PendingSend {
    at::Tensor header, payload;
    c10::intrusive_ptr<c10d::Work> headerWork, payloadWork;
    void wait()
    {
        if (headerWork)
            headerWork->wait();
        if (payloadWork)
            payloadWork->wait();
        headerWork.reset();
        payloadWork.reset();
    }
};

Result<WorkerSummary> workUnguarded(const ClusterRole &role, const DistributedOptions &options, Watchdog &watchdog,
                                    const CancelFlag *cancel, const ChunkSourceFactory &factory, StorePtr &store,
                                    GroupPtr &group)
{
    // Reports the failure and stays until the coordinator has taken it in (its abort),
    // so that this process closing its connections is not mistaken for a death.
    const auto fail = [&](const Status &s) -> Status {
        const Status named = s.withContext(role.name());
        try {
            store->set(failedKey(role.rank), bytes(named.message()));
            store->add(kFailures, 1);
            const auto until = Clock::now() + options.heartbeatTimeout;
            while (Clock::now() < until && !store->check({kAbort}))
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
        } catch (const std::exception &) {
        }
        return named;
    };
    // The plan, or the coordinator's reason not to run.
    for (;;) {
        if (store->check({kPlan}))
            break;
        if (store->check({kAbort})) {
            store->add(kExited, 1);
            return Status::ioError(role.name() + ": the coordinator stopped the run: " + text(store->get(kAbort)));
        }
        if (Status s = watchdog.stopped(); !s)
            return s;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    int64_t chunks = 0;
    auto plan = wire::decodePlanHeader(store->get(kPlan), &chunks);
    if (!plan.ok())
        return fail(plan.status());
    group = openGroup(store, role);

    ChunkSource source;
    if (factory) {
        auto made = factory(*plan);
        if (!made.ok())
            return fail(made.status());
        source = std::move(made).value();
    } else {
        ModelRunner::setThreads(options.compute.threads);
        auto computer = ChunkComputer::load(*plan, true);
        if (!computer.ok())
            return fail(computer.status());
        std::shared_ptr<ChunkComputer> shared(std::move(computer).value());
        source = [shared, cancel](const ComputeChunk &chunk) { return shared->compute(chunk, cancel); };
    }

    WorkerSummary summary;
    const auto started = Clock::now();
    PendingSend pending;
    for (;;) {
        if (isCancelled(cancel))
            return fail(Status::cancelled("interrupted"));
        if (Status s = watchdog.stopped(); !s)
            return s;
        const int64_t t = store->add(kNext, 1) - 1;
        if (t >= chunks)
            break;
        auto chunk = wire::decodeChunk(store->get(chunkKey(t)));
        if (!chunk.ok())
            return fail(chunk.status());
        auto rows = source(*chunk);
        if (!rows.ok())
            return fail(rows.status());
        const wire::Bytes payload = wire::encodeFactors(t, *rows);
        pending.wait(); // the previous chunk's rows are out before this chunk's go
        pending.payload = at::empty({int64_t(payload.size())}, at::kByte);
        std::memcpy(pending.payload.data_ptr<uint8_t>(), payload.data(), payload.size());
        pending.header = at::empty({2}, at::kLong);
        pending.header.data_ptr<int64_t>()[0] = int64_t(payload.size());
        pending.header.data_ptr<int64_t>()[1] = role.rank;
        std::vector<at::Tensor> h{pending.header}, p{pending.payload};
        pending.headerWork = group->send(h, 0, kTagHeader);
        pending.payloadWork = group->send(p, 0, kTagRows);
        ++summary.chunks;
        summary.pairs += rows->pairs();
    }
    pending.wait();
    summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    store->set(doneKey(role.rank), bytes("1"));
    // Stay until the coordinator has committed everything: leaving earlier would look
    // like a lost worker, and a worker's exit status should say whether the run worked.
    for (;;) {
        if (store->check({kFinished}))
            break;
        if (Status s = watchdog.stopped(); !s)
            return s;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    store->add(kExited, 1);
    return summary;
}

} // namespace

Result<ComputeSummary> coordinatePlan(ProjectDb &db, const ComputePlan &plan, const ClusterRole &role,
                                      const DistributedOptions &options, const ProgressFn &progress,
                                      const CancelFlag *cancel)
{
    if (!role.isCoordinator())
        return Status::invalid("coordinatePlan runs on rank 0 only");
    if (role.worldSize < 2)
        return Status::invalid("a distributed run needs at least 2 processes (WORLD_SIZE): rank 0 coordinates and "
                               "the others compute");
    Coordinator c(db, role, options);
    TL_RETURN_IF_ERROR(c.connect());
    auto summary = c.run(plan, progress, cancel);
    c.waitForWorkersToLeave();
    return summary;
}

Result<ComputeSummary> coordinateCompute(ProjectDb &db, int64_t modelId, const ClusterRole &role,
                                         const DistributedOptions &options, const ProgressFn &progress,
                                         const CancelFlag *cancel)
{
    if (!role.isCoordinator())
        return Status::invalid("coordinateCompute runs on rank 0 only");
    if (role.worldSize < 2)
        return Status::invalid("a distributed run needs at least 2 processes (WORLD_SIZE): rank 0 coordinates and "
                               "the others compute");
    Coordinator c(db, role, options);
    if (progress)
        progress({"compute", "waiting for " + std::to_string(role.worldSize - 1) + " workers", 0, 0});
    TL_RETURN_IF_ERROR(c.connect());
    auto plan = planCompute(db, modelId, options.compute);
    if (!plan.ok())
        return c.abort(plan.status());
    auto summary = c.run(*plan, progress, cancel);
    if (!summary.ok())
        return summary.status();
    // Self-influence needs every factor, which only this process has.
    if (Status s = finishCompute(db, *plan, progress); !s)
        return s;
    c.waitForWorkersToLeave();
    return summary;
}

Result<WorkerSummary> runComputeWorker(const ClusterRole &role, const DistributedOptions &options,
                                       const StopHandler &onStop, const CancelFlag *cancel,
                                       const ChunkSourceFactory &source)
{
    if (role.isCoordinator())
        return Status::invalid("runComputeWorker runs on ranks above 0");
    StorePtr store;
    GroupPtr group;
    try {
        store = openStore(role, true, options.connectTimeout);
        store->set(hostKey(role.rank), bytes(role.hostname));
    } catch (const std::exception &e) {
        return Status::ioError(role.name() + ": cannot reach the coordinator's store at " + storeAddress(role)
                               + " with all " + std::to_string(role.worldSize) + " processes: " + describe(e));
    }
    Watchdog watchdog(role, options, onStop);
    TL_RETURN_IF_ERROR(watchdog.start());
    Result<WorkerSummary> result = Status::internal("not run");
    try {
        result = workUnguarded(role, options, watchdog, cancel, source, store, group);
    } catch (const std::exception &e) {
        Status stopped = watchdog.stopped();
        // A worker talks only to rank 0 (its store and its group connection), so an
        // exception here means the coordinator went away.
        result = stopped.isOk() ? lostCoordinator(role, e) : stopped;
    }
    watchdog.stop();
    if (!result.ok()) {
        // The group may be in the middle of a send to a coordinator that is gone.
        if (group)
            (void)group.release();
        if (store)
            (void)store.release();
    }
    return result;
}

} // namespace traclens
