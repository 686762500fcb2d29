// The tuning cache's file: choices survive into a new instance (a later process), another card's or
// library's fingerprint sees none of them, the last line of a problem wins, lines that do not parse
// are skipped, tabs and line breaks in a name cannot break the format, an unwritable file keeps
// the choices in memory, and WAN_TUNING_CACHE picks the file or turns the cache off.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/tuning_cache.h"

namespace wan {
namespace {

class TuningCacheFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("wan-tuning-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string file() const { return (dir_ / "sub" / "tuning-cache.tsv").string(); }
  std::filesystem::path dir_;
};

TEST_F(TuningCacheFile, ChoicesReachALaterInstanceOfTheSameFingerprintOnly) {
  {
    TuningCache cache(file(), "H100 cuBLASLt 13.1");
    EXPECT_FALSE(cache.lookup("linear M=1").has_value());
    cache.store("linear M=1", "00ff");
    cache.store("attention L=7", "ours");
    EXPECT_EQ(cache.lookup("linear M=1").value_or(""), "00ff");  // at once, in this process
  }
  const TuningCache again(file(), "H100 cuBLASLt 13.1");
  EXPECT_EQ(again.size(), 2u);
  EXPECT_EQ(again.lookup("linear M=1").value_or(""), "00ff");
  EXPECT_EQ(again.lookup("attention L=7").value_or(""), "ours");
  const TuningCache other_card(file(), "H200 cuBLASLt 13.1");
  EXPECT_EQ(other_card.size(), 0u);
  EXPECT_FALSE(other_card.lookup("linear M=1").has_value());
  const TuningCache prefix(file(), "H100 cuBLASLt 13");  // a fingerprint that is a prefix of another is another
  EXPECT_EQ(prefix.size(), 0u);
}

TEST_F(TuningCacheFile, TheLastLineOfAProblemWinsAndBrokenLinesAreSkipped) {
  {
    TuningCache cache(file(), "fp");
    cache.store("p", "first");
    cache.store("p", "second");
  }
  {
    std::ofstream out(file(), std::ios::app);
    out << "fp\tonly two fields\n" << "fp\ta\tb\tc\n" << "fp\tempty choice\t\n" << "\n" << "no tabs at all\n";
  }
  const TuningCache cache(file(), "fp");
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.lookup("p").value_or(""), "second");
}

TEST_F(TuningCacheFile, TabsAndLineBreaksInNamesCannotBreakTheFormat) {
  {
    TuningCache cache(file(), "card\twith\ttabs");
    cache.store("line\nbreak\tproblem", "choice\rwith\treturns");
  }
  const TuningCache cache(file(), "card\twith\ttabs");
  EXPECT_EQ(cache.lookup("line\nbreak\tproblem").value_or(""), "choice with returns");
  std::ifstream in(file());
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) ++lines;
  EXPECT_EQ(lines, 1);
}

TEST_F(TuningCacheFile, AnUnwritableFileKeepsTheChoicesForThisProcess) {
  std::filesystem::create_directories(dir_);
  const std::string blocked = (dir_ / "a-file").string();
  std::ofstream(blocked) << "not a folder\n";
  TuningCache cache(blocked + "/tuning-cache.tsv", "fp");  // its folder would have to be a file
  cache.store("p", "c");
  EXPECT_EQ(cache.lookup("p").value_or(""), "c");
  cache.store("q", "d");  // no second attempt to write, no error either
  EXPECT_EQ(cache.size(), 2u);
}

TEST(TuningCachePath, FollowsTheEnvironment) {
  const char* saved = std::getenv("WAN_TUNING_CACHE");
  const std::string before = saved ? saved : "";
  ::setenv("WAN_TUNING_CACHE", "/some/where/cache.tsv", 1);
  EXPECT_EQ(default_tuning_cache_path(), "/some/where/cache.tsv");
  ::setenv("WAN_TUNING_CACHE", "off", 1);
  EXPECT_EQ(default_tuning_cache_path(), "");
  ::setenv("WAN_TUNING_CACHE", "0", 1);
  EXPECT_EQ(default_tuning_cache_path(), "");
  ::unsetenv("WAN_TUNING_CACHE");
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const std::string xdg_before = xdg ? xdg : "";
  ::setenv("XDG_CACHE_HOME", "/xdg", 1);
  EXPECT_EQ(default_tuning_cache_path(), "/xdg/wan/tuning-cache.tsv");
  if (xdg) ::setenv("XDG_CACHE_HOME", xdg_before.c_str(), 1);
  else ::unsetenv("XDG_CACHE_HOME");
  if (saved) ::setenv("WAN_TUNING_CACHE", before.c_str(), 1);
}

}  // namespace
}  // namespace wan
