#include "broker/client/assignors/balance.h"

#include "broker/base/assert.h"

#include <algorithm>
#include <optional>
#include <tuple>

namespace keel::client::assignors {

namespace {

class Balancer {
 public:
  Balancer(const std::map<std::string, std::int32_t>& counts, const std::vector<BalanceMember>& members)
      : counts_(counts), members_(members), held_(members.size()), kept_(members.size()) {
    for (std::size_t m = 0; m < members.size(); ++m) {
      for (const auto& t : members[m].topics) {
        if (counts.contains(t)) eligible_[t].push_back(static_cast<int>(m));
      }
    }
  }

  std::vector<std::vector<TopicPartition>> run() {
    keep();
    deal_unassigned();
    while (move_one()) {
    }
    std::vector<std::vector<TopicPartition>> out;
    for (const auto& h : held_) out.emplace_back(h.begin(), h.end());
    return out;
  }

 private:
  void give(int m, const TopicPartition& tp) {
    auto [it, fresh] = owner_.emplace(tp, m);
    KEEL_ASSERT_MSG(fresh, "partition {} given to member {} is held by member {}", tp, m, it->second);
    held_[static_cast<std::size_t>(m)].insert(tp);
  }

  void keep() {
    for (std::size_t m = 0; m < members_.size(); ++m) {
      for (const auto& tp : members_[m].kept) {
        KEEL_ASSERT_MSG(members_[m].topics.contains(tp.topic), "member {} keeps {} but does not subscribe to it", m,
                        tp);
        KEEL_ASSERT_MSG(counts_.contains(tp.topic) && tp.partition >= 0 && tp.partition < counts_.at(tp.topic),
                        "member {} keeps {}, which does not exist", m, tp);
        give(static_cast<int>(m), tp);
        kept_[m].insert(tp);
      }
    }
  }

  // The eligible member with the fewest partitions (ties to the lowest index), other than `except`.
  std::optional<int> least_loaded(const std::string& topic, int except = -1) const {
    std::optional<int> best;
    for (int m : eligible_.at(topic)) {
      if (m == except) continue;
      if (!best || held_[static_cast<std::size_t>(m)].size() < held_[static_cast<std::size_t>(*best)].size()) best = m;
    }
    return best;
  }

  void deal_unassigned() {
    std::vector<std::pair<std::size_t, TopicPartition>> unassigned;  // (eligible members, partition)
    for (const auto& [topic, members] : eligible_) {
      for (std::int32_t p = 0; p < counts_.at(topic); ++p) {
        TopicPartition tp{topic, p};
        if (!owner_.contains(tp)) unassigned.emplace_back(members.size(), std::move(tp));
      }
    }
    std::sort(unassigned.begin(), unassigned.end());
    for (const auto& [n, tp] : unassigned) give(*least_loaded(tp.topic), tp);
  }

  // One move from the fullest member that can give to an eligible member holding two fewer.
  bool move_one() {
    std::vector<int> donors(members_.size());
    for (std::size_t m = 0; m < donors.size(); ++m) donors[m] = static_cast<int>(m);
    std::sort(donors.begin(), donors.end(), [&](int a, int b) {
      return std::make_tuple(-static_cast<std::int64_t>(size(a)), a) <
             std::make_tuple(-static_cast<std::int64_t>(size(b)), b);
    });
    for (int donor : donors) {
      if (size(donor) < 2) return false;
      for (bool kept_pass : {false, true}) {
        if (try_give_away(donor, kept_pass)) return true;
      }
    }
    return false;
  }

  bool try_give_away(int donor, bool kept_pass) {
    const auto& held = held_[static_cast<std::size_t>(donor)];
    for (auto it = held.rbegin(); it != held.rend(); ++it) {
      if (kept_[static_cast<std::size_t>(donor)].contains(*it) != kept_pass) continue;
      auto to = least_loaded(it->topic, donor);
      if (!to || size(*to) + 1 >= size(donor)) continue;
      const TopicPartition tp = *it;
      held_[static_cast<std::size_t>(donor)].erase(tp);
      owner_.erase(tp);
      give(*to, tp);
      return true;
    }
    return false;
  }

  std::size_t size(int m) const { return held_[static_cast<std::size_t>(m)].size(); }

  const std::map<std::string, std::int32_t>& counts_;
  const std::vector<BalanceMember>& members_;
  std::map<std::string, std::vector<int>> eligible_;  // topic -> subscribed members, ascending
  std::vector<std::set<TopicPartition>> held_;
  std::vector<std::set<TopicPartition>> kept_;
  std::map<TopicPartition, int> owner_;
};

}  // namespace

std::vector<std::vector<TopicPartition>> balance_sticky(const std::map<std::string, std::int32_t>& counts,
                                                        const std::vector<BalanceMember>& members) {
  auto out = Balancer(counts, members).run();
  KEEL_ASSERT(is_balanced(members, out));
  return out;
}

bool is_balanced(const std::vector<BalanceMember>& members,
                 const std::vector<std::vector<TopicPartition>>& assignment) {
  KEEL_ASSERT_EQ(members.size(), assignment.size());
  for (std::size_t a = 0; a < members.size(); ++a) {
    for (std::size_t b = 0; b < members.size(); ++b) {
      if (assignment[b].size() < assignment[a].size() + 2) continue;
      for (const auto& tp : assignment[b]) {
        if (members[a].topics.contains(tp.topic)) return false;
      }
    }
  }
  return true;
}

}  // namespace keel::client::assignors
