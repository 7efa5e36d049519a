#include "cli/cli.h"

int main(int argc, char** argv) { return gms::cliMain(argc, argv); }
