// Rules files: the documented default file is exactly the built-in defaults,
// and every kind of bad input is one Usage error naming the file and key.
#include "analysis/rules.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"

namespace gms {
namespace {

std::string usageError(const std::string& yaml) {
  try {
    parseRules(yaml, "r.yaml");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    return e.what();
  }
  ADD_FAILURE() << "no error for: " << yaml;
  return "";
}

TEST(Rules, DocumentedDefaultFileIsTheBuiltInDefaults) {
  Rules d;
  Rules f = loadRules(GMS_FIXTURE_DIR "/../../docs/rules.yaml");
  EXPECT_EQ(f.rehashStorm.enabled, d.rehashStorm.enabled);
  EXPECT_EQ(f.rehashStorm.minGrowths, d.rehashStorm.minGrowths);
  EXPECT_EQ(f.rehashStorm.minMapFootprint, d.rehashStorm.minMapFootprint);
  EXPECT_EQ(f.unboundedMap.minSamples, d.unboundedMap.minSamples);
  EXPECT_EQ(f.unboundedMap.minGrowthPct, d.unboundedMap.minGrowthPct);
  EXPECT_EQ(f.unboundedMap.minLen, d.unboundedMap.minLen);
  EXPECT_EQ(f.gcPressure.maxGcCpuFraction, d.gcPressure.maxGcCpuFraction);
  EXPECT_EQ(f.gcPressure.maxGcPerMin, d.gcPressure.maxGcPerMin);
  EXPECT_EQ(f.heapGrowth.minGcs, d.heapGrowth.minGcs);
  EXPECT_EQ(f.heapGrowth.maxGrowthPct, d.heapGrowth.maxGrowthPct);
  EXPECT_EQ(f.heapGrowth.minGrowthBytes, d.heapGrowth.minGrowthBytes);
  EXPECT_EQ(f.limits.maxHeapAlloc, d.limits.maxHeapAlloc);
  EXPECT_EQ(f.limits.maxSys, d.limits.maxSys);
  EXPECT_TRUE(f.limits.maxMapLen.empty());
}

TEST(Rules, OverridesOnlyTheKeysGiven) {
  Rules r = parseRules(R"(
gc_pressure:
  max_gc_cpu_fraction: 0.25
limits:
  max_heap_alloc: 64MiB
  max_map_len:
    - path: main.cache*
      max_len: 10
rehash_storm:
  enabled: no
)",
                       "r.yaml");
  EXPECT_DOUBLE_EQ(r.gcPressure.maxGcCpuFraction, 0.25);
  EXPECT_EQ(r.gcPressure.maxGcPerMin, GcPressureRule{}.maxGcPerMin);
  EXPECT_EQ(r.limits.maxHeapAlloc, 64u << 20);
  ASSERT_EQ(r.limits.maxMapLen.size(), 1u);
  EXPECT_EQ(r.limits.maxMapLen[0].path, "main.cache*");
  EXPECT_EQ(r.limits.maxMapLen[0].maxLen, 10u);
  EXPECT_FALSE(r.rehashStorm.enabled);
  EXPECT_TRUE(parseRules("", "empty.yaml").rehashStorm.enabled);
  EXPECT_TRUE(parseRules("# only a comment\n", "c.yaml").heapGrowth.enabled);
}

TEST(Rules, BadInputNamesFileAndKey) {
  EXPECT_EQ(usageError("gc_pressure:\n  max_gc_cpu_fractio: 0.2\n")
                .rfind("r.yaml: gc_pressure.max_gc_cpu_fractio: unknown key", 0),
            0u);
  EXPECT_EQ(usageError("gc_pressur: {}\n").rfind("r.yaml: gc_pressur: unknown key", 0), 0u);
  EXPECT_NE(usageError("gc_pressure:\n  max_gc_cpu_fraction: 1.5\n")
                .find("gc_pressure.max_gc_cpu_fraction: 1.5 is outside 0..1"),
            std::string::npos);
  EXPECT_NE(usageError("rehash_storm:\n  min_growths: many\n")
                .find("rehash_storm.min_growths: 'many' is not a whole number"),
            std::string::npos);
  EXPECT_NE(usageError("rehash_storm:\n  min_growths: -3\n").find("rehash_storm.min_growths"),
            std::string::npos);
  EXPECT_NE(usageError("rehash_storm:\n  min_growths: 0\n").find("below the minimum 1"),
            std::string::npos);
  EXPECT_NE(usageError("rehash_storm:\n  enabled: maybe\n")
                .find("rehash_storm.enabled: 'maybe' is not true or false"),
            std::string::npos);
  EXPECT_NE(usageError("rehash_storm: [1, 2]\n").find("rehash_storm: expected a mapping"),
            std::string::npos);
  EXPECT_NE(usageError("limits:\n  max_sys: lots\n").find("limits.max_sys: 'lots' is not a size"),
            std::string::npos);
  EXPECT_NE(
      usageError("limits:\n  max_map_len: {path: x}\n").find("limits.max_map_len: expected a list"),
      std::string::npos);
  EXPECT_NE(usageError("limits:\n  max_map_len:\n    - path: x\n")
                .find("limits.max_map_len[0]: needs both"),
            std::string::npos);
  EXPECT_NE(usageError("gc_pressure:\n  max_gc_per_min: {a: 1}\n")
                .find("expected a number, not a mapping"),
            std::string::npos);
  // YAML syntax errors carry the line.
  EXPECT_NE(usageError("gc_pressure:\n  max_gc_per_min: [1,\n").find("r.yaml: line "),
            std::string::npos);
  EXPECT_NE(usageError("- a\n- b\n").find("(top level): expected a mapping"), std::string::npos);
  // Every message is one line.
  EXPECT_EQ(usageError("gc_pressure:\n  max_gc_per_min: [1,\n").find('\n'), std::string::npos);
  try {
    loadRules("/nonexistent/rules.yaml");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/rules.yaml"), std::string::npos);
  }
}

TEST(Rules, ByteSizesAndPathPatterns) {
  EXPECT_EQ(parseByteSize("1048576", "x"), 1048576u);
  EXPECT_EQ(parseByteSize("1MiB", "x"), 1048576u);
  EXPECT_EQ(parseByteSize("1.5 KiB", "x"), 1536u);
  EXPECT_EQ(parseByteSize("2GB", "x"), 2000000000u);
  EXPECT_THROW(parseByteSize("2 parsecs", "x"), Error);
  EXPECT_THROW(parseByteSize("-1", "x"), Error);
  EXPECT_THROW(parseByteSize("", "x"), Error);
  EXPECT_THROW(parseByteSize("1e30", "x"), Error);
  EXPECT_TRUE(pathMatches("main.cache.items", "main.cache.items"));
  EXPECT_TRUE(pathMatches("main.cache.items", "main.cache*"));
  EXPECT_TRUE(pathMatches("main.users[\"bob\"].prefs", "main.users*.prefs"));
  EXPECT_TRUE(pathMatches("anything", "*"));
  EXPECT_FALSE(pathMatches("main.cache", "main.cache.items"));
  EXPECT_FALSE(pathMatches("main.cachex", "main.cache"));
  EXPECT_FALSE(pathMatches("main.users[\"bob\"].name", "main.users*.prefs"));
}

}  // namespace
}  // namespace gms
