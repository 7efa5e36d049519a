// The keeper's typed frames (control/keeper.h) over a real pipe: each kind
// arrives as it was sent, an Error carries its kind and message, and a frame
// cut short or of an unknown kind is an error, never a misread record.
#include <gtest/gtest.h>
#include <unistd.h>

#include "control/keeper.h"

namespace gms {
namespace {

struct Pipe {
  int fd[2];
  Pipe() { EXPECT_EQ(pipe(fd), 0); }
  ~Pipe() {
    close(fd[0]);
    if (fd[1] >= 0) close(fd[1]);
  }
  void closeWrite() {
    close(fd[1]);
    fd[1] = -1;
  }
};

struct Stats {
  uint64_t a, b;
};
struct Big {
  uint64_t words[400];
};

TEST(KeeperFrames, EachKindArrivesAsSent) {
  Pipe p;
  ASSERT_TRUE(sendFrame(p.fd[1], FrameKind::Ready, Stats{3, 4}));
  Big big{};
  big.words[399] = 42;
  ASSERT_TRUE(sendFrame(p.fd[1], FrameKind::Event, big));
  ASSERT_TRUE(sendError(p.fd[1], ErrorKind::Permission, "ptrace: Operation not permitted"));
  ASSERT_TRUE(sendFrame(p.fd[1], FrameKind::End, Stats{5, 6}));
  p.closeWrite();

  Frame f;
  ASSERT_EQ(receiveFrame(p.fd[0], f), 1);
  EXPECT_EQ(f.kind, FrameKind::Ready);
  EXPECT_EQ(f.as<Stats>().b, 4u);
  ASSERT_EQ(receiveFrame(p.fd[0], f), 1);
  EXPECT_EQ(f.kind, FrameKind::Event);
  EXPECT_EQ(f.as<Big>().words[399], 42u);
  EXPECT_THROW(f.as<Stats>(), Error);  // the two sides disagree on the record: said, not misread
  ASSERT_EQ(receiveFrame(p.fd[0], f), 1);
  EXPECT_EQ(f.kind, FrameKind::Error);
  EXPECT_EQ(f.errorKind(), ErrorKind::Permission);
  EXPECT_EQ(f.message(), "ptrace: Operation not permitted");
  ASSERT_EQ(receiveFrame(p.fd[0], f), 1);
  EXPECT_EQ(f.kind, FrameKind::End);
  EXPECT_EQ(f.as<Stats>().a, 5u);
  EXPECT_EQ(receiveFrame(p.fd[0], f), 0);  // EOF
}

TEST(KeeperFrames, ABodyOverOnePipeWriteIsRefused) {
  Pipe p;
  std::vector<uint8_t> body(kMaxFrameBody + 1);
  EXPECT_THROW(sendFrame(p.fd[1], FrameKind::Event, body.data(), body.size()), Error);
}

TEST(KeeperFrames, ACutOrUnknownFrameIsAnError) {
  {
    Pipe p;
    uint32_t header[2] = {uint32_t(FrameKind::Event), 64};
    ASSERT_EQ(write(p.fd[1], header, sizeof header), ssize_t(sizeof header));
    ASSERT_EQ(write(p.fd[1], "short", 5), 5);
    p.closeWrite();
    Frame f;
    EXPECT_EQ(receiveFrame(p.fd[0], f), -1);
  }
  {
    Pipe p;
    uint32_t header[2] = {99, 0};
    ASSERT_EQ(write(p.fd[1], header, sizeof header), ssize_t(sizeof header));
    p.closeWrite();
    Frame f;
    EXPECT_EQ(receiveFrame(p.fd[0], f), -1);
  }
}

}  // namespace
}  // namespace gms
