// Delayed operations and their purgatory, on the simulated clock.
#include "broker/platform/runtime.h"
#include "broker/purgatory/purgatory.h"
#include "broker/purgatory/timing_wheel.h"
#include "sim/node.h"
#include "sim/world.h"
#include "tests/support/sim_world.h"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace keel;
using namespace keel::sim;
using namespace keel::purgatory;

namespace {

using keel::test::add_running_node;

// These tests pin exact expiry times, which BUGGIFY timer_reaper_late bends on purpose;
// tests/sim_buggify_test.cpp checks what still holds when the reaper runs late.
World make_world(std::uint64_t seed) { return test::make_world(seed, /*buggify=*/false); }

// Completes once `*available` reaches `needed`; counts its callbacks.
class CountingOp : public DelayedOperation {
 public:
  CountingOp(Duration delay, const int* available, int needed)
      : DelayedOperation(delay), available_(available), needed_(needed) {}
  bool try_complete() override {
    ++tries;
    return *available_ >= needed_ && force_complete();
  }
  void on_complete() override {
    ++completions;
    completed_expired = expired();
  }
  void on_expiration() override {
    ++expirations;
    expired_before_complete = completions == 0;
  }

  int tries = 0;
  int completions = 0;
  int expirations = 0;
  bool completed_expired = false;
  bool expired_before_complete = false;

 private:
  const int* available_;
  int needed_;
};

// One simulated node with a timer and a purgatory, set up before `body` runs in a task.
struct Rig {
  explicit Rig(std::uint64_t seed, int purge_interval = 1000) : world(make_world(seed)), purge_interval(purge_interval) {}

  void run(std::function<void(Runtime&)> body, Duration how_long) {
    add_running_node(world, [this, body = std::move(body)](Runtime& rt) {
      timer = std::make_unique<SystemTimer>(rt);
      purgatory = std::make_unique<DelayedOperationPurgatory>("Test", *timer, purge_interval);
      rt.spawn("body", [&rt, body] { body(rt); });
    });
    world.run_for(how_long);
  }

  World world;
  int purge_interval;
  std::unique_ptr<SystemTimer> timer;
  std::unique_ptr<DelayedOperationPurgatory> purgatory;
};

}  // namespace

TEST_CASE("purgatory: an operation completes by check_and_complete before its timeout, exactly once", "[server][purgatory][sim]") {
  Rig rig(21);
  int available = 0;
  auto op = std::make_shared<CountingOp>(1s, &available, 10);
  Duration waited{};
  bool wait_ok = false;
  int completed_by_check = -1;
  rig.run(
      [&](Runtime& rt) {
        rt.spawn("appender", [&] {
          rt.sleep_for(50ms);
          available = 5;
          CHECK(rig.purgatory->check_and_complete("p0") == 0);  // not enough yet
          rt.sleep_for(50ms);
          available = 12;
          completed_by_check = rig.purgatory->check_and_complete("p0");
        });
        const Instant start = rt.now();
        CHECK_FALSE(rig.purgatory->try_complete_else_watch(op, {"p0", "p1"}));
        CHECK(rig.purgatory->watched() == 2);
        CHECK(rig.purgatory->delayed() == 1);
        CHECK(rig.timer->size() == 1);
        wait_ok = op->wait().ok();
        waited = rt.now() - start;
      },
      5s);
  CHECK(wait_ok);
  CHECK(completed_by_check == 1);
  CHECK(waited == 100ms);
  CHECK(op->completions == 1);
  CHECK(op->expirations == 0);
  CHECK_FALSE(op->expired());
  CHECK(op->tries == 3);  // on watch, and by each check
  CHECK(rig.timer->size() == 0);  // completing cancelled its timer entry
  CHECK(rig.purgatory->delayed() == 0);
  CHECK(rig.purgatory->watched() == 1);  // "p1" still lists it until purged or checked
  CHECK(rig.purgatory->check_and_complete("p1") == 0);
  CHECK(rig.purgatory->watched() == 0);
  CHECK(op->completions == 1);
}

TEST_CASE("purgatory: an operation nobody completes expires at its timeout, exactly once", "[server][purgatory][sim]") {
  Rig rig(22);
  int available = 0;
  auto op = std::make_shared<CountingOp>(300ms, &available, 1);
  Duration waited{};
  rig.run(
      [&](Runtime& rt) {
        const Instant start = rt.now();
        CHECK_FALSE(rig.purgatory->try_complete_else_watch(op, {"p0"}));
        CHECK(op->wait().ok());
        waited = rt.now() - start;
        // Satisfied too late: the expiry already completed it.
        available = 1;
        CHECK(rig.purgatory->check_and_complete("p0") == 0);
        CHECK_FALSE(op->force_complete());
      },
      5s);
  CHECK(waited >= 300ms);
  CHECK(waited <= 301ms);
  CHECK(op->expirations == 1);
  CHECK(op->completions == 1);
  CHECK(op->expired());
  CHECK(op->completed_expired);
  CHECK(op->expired_before_complete);
  CHECK(rig.purgatory->delayed() == 0);
  CHECK(rig.purgatory->watched() == 0);
}

TEST_CASE("purgatory: an operation that can complete at once is neither watched nor timed", "[server][purgatory][sim]") {
  Rig rig(23);
  int available = 3;
  auto op = std::make_shared<CountingOp>(1s, &available, 1);
  rig.run(
      [&](Runtime&) {
        CHECK(rig.purgatory->try_complete_else_watch(op, {"p0"}));
        CHECK(op->wait().ok());
      },
      2s);
  CHECK(op->completions == 1);
  CHECK(op->expirations == 0);
  CHECK(rig.purgatory->watched() == 0);
  CHECK(rig.purgatory->delayed() == 0);
  CHECK(rig.timer->size() == 0);
}

TEST_CASE("purgatory: wait gives up at its own deadline while the operation waits on", "[server][purgatory][sim]") {
  Rig rig(24);
  int available = 0;
  auto op = std::make_shared<CountingOp>(1s, &available, 1);
  Errc first = Errc::ok;
  Errc second = Errc::cancelled;
  rig.run(
      [&](Runtime& rt) {
        CHECK_FALSE(rig.purgatory->try_complete_else_watch(op, {"p0"}));
        first = op->wait(rt.now() + 100ms).code();
        second = op->wait().code();
      },
      5s);
  CHECK(first == Errc::timed_out);
  CHECK(second == Errc::ok);
  CHECK(op->completions == 1);
}

TEST_CASE("purgatory: many operations on shared keys each complete exactly once, by a check or by expiry", "[server][purgatory][sim]") {
  Rig rig(25, 10);
  std::vector<int> available(8, 0);
  std::vector<std::shared_ptr<CountingOp>> ops;
  int finished = 0;
  rig.run(
      [&](Runtime& rt) {
        for (int i = 0; i < 400; ++i) {
          const auto partition = static_cast<std::size_t>(rt.random().below(8));
          const auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(1 + rt.random().below(500)));
          auto op = std::make_shared<CountingOp>(delay, &available[partition], 1 + static_cast<int>(rt.random().below(20)));
          ops.push_back(op);
          const std::vector<std::string> keys{"p" + std::to_string(partition), "all"};
          rt.spawn("request", [&rig, &finished, op, keys] {
            if (!rig.purgatory->try_complete_else_watch(op, keys)) CHECK(op->wait().ok());
            ++finished;
          });
          if (i % 4 == 0) {
            rt.sleep_for(std::chrono::milliseconds(static_cast<std::int64_t>(rt.random().below(5))));
            ++available[partition];
            rig.purgatory->check_and_complete("p" + std::to_string(partition));
          }
        }
      },
      10s);
  CHECK(finished == 400);
  int expired = 0;
  for (const auto& op : ops) {
    CHECK(op->completions == 1);
    CHECK(op->expirations == (op->expired() ? 1 : 0));
    expired += op->expired() ? 1 : 0;
  }
  CHECK(expired > 0);
  CHECK(expired < 400);
  CHECK(rig.purgatory->delayed() == 0);
  CHECK(rig.timer->size() == 0);
  // Nobody checked "all": only purging bounds it.
  CHECK(rig.purgatory->watched() < 400);
}

TEST_CASE("purgatory: watchers of completed operations are purged once enough have completed", "[server][purgatory][sim]") {
  Rig rig(26, 3);
  int available = 0;
  std::vector<std::size_t> watched;  // after each step
  rig.run(
      [&](Runtime&) {
        auto& purgatory = *rig.purgatory;
        for (int i = 0; i < 3; ++i) {
          CHECK_FALSE(purgatory.try_complete_else_watch(std::make_shared<CountingOp>(1h, &available, 1), {"a", "b"}));
        }
        watched.push_back(purgatory.watched());  // 6
        available = 1;
        CHECK(purgatory.check_and_complete("a") == 3);
        watched.push_back(purgatory.watched());  // 3: "b" still lists them; 3 completed is not past the interval
        available = 0;
        auto short_lived = std::make_shared<CountingOp>(10ms, &available, 1);
        CHECK_FALSE(purgatory.try_complete_else_watch(short_lived, {"c", "d"}));
        CHECK(short_lived->wait().ok());
        CHECK(short_lived->expired());
        watched.push_back(purgatory.watched());  // 5: an expiry leaves the lists alone
        // Four completed since the last purge, past the interval of 3: the next add sweeps.
        auto next = std::make_shared<CountingOp>(1h, &available, 1);
        CHECK_FALSE(purgatory.try_complete_else_watch(next, {"e"}));
        watched.push_back(purgatory.watched());  // 1: only `next`
        CHECK(next->force_complete());
        CHECK(purgatory.purge_completed() == 1);
        watched.push_back(purgatory.watched());  // 0
        CHECK(purgatory.delayed() == 0);
      },
      2s);
  CHECK(watched == std::vector<std::size_t>{6, 3, 5, 1, 0});
}

TEST_CASE("purgatory: on_complete may call back into the purgatory", "[server][purgatory][sim]") {
  // A completion that checks another key (as an append that completes a produce may satisfy a
  // fetch) must not disturb the watch list being walked.
  class Chained : public DelayedOperation {
   public:
    Chained(DelayedOperationPurgatory*& purgatory, bool& ready, std::string next)
        : DelayedOperation(1h), purgatory_(purgatory), ready_(ready), next_(std::move(next)) {}
    bool try_complete() override { return ready_ && force_complete(); }
    void on_complete() override {
      ++completions;
      if (!next_.empty()) purgatory_->check_and_complete(next_);
    }
    int completions = 0;

   private:
    DelayedOperationPurgatory*& purgatory_;
    bool& ready_;
    std::string next_;
  };
  Rig rig(27);
  bool ready = false;
  DelayedOperationPurgatory* purgatory = nullptr;
  auto first = std::make_shared<Chained>(purgatory, ready, "k");
  auto second = std::make_shared<Chained>(purgatory, ready, "k");
  int completed = 0;
  rig.run(
      [&](Runtime&) {
        purgatory = rig.purgatory.get();
        CHECK_FALSE(purgatory->try_complete_else_watch(first, {"k"}));
        CHECK_FALSE(purgatory->try_complete_else_watch(second, {"k"}));
        ready = true;
        completed = purgatory->check_and_complete("k");
      },
      1s);
  CHECK(first->completions == 1);
  CHECK(second->completions == 1);
  CHECK(completed >= 1);
  CHECK(rig.purgatory->watched() == 0);
  CHECK(rig.purgatory->delayed() == 0);
}
