// toml++ baseline for bench_toml: parse the file argv[1] argv[2] times and
// print the median throughput as "MBPS <value>" on stdout.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <toml++/toml.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        std::cerr << "usage: toml_baseline FILE RUNS\n";
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string doc = ss.str();
    int runs = std::atoi(argv[2]);
    std::vector<double> mbps;
    size_t keys = 0;
    for (int i = 0; i < runs; i++) {
        auto t0 = std::chrono::steady_clock::now();
        try {
            toml::table t = toml::parse(doc);
            keys += t.size();
        } catch (const toml::parse_error &e) {
            std::cerr << "toml++: " << e.description() << "\n";
            return 1;
        }
        auto t1 = std::chrono::steady_clock::now();
        double s = std::chrono::duration<double>(t1 - t0).count();
        mbps.push_back(doc.size() / 1e6 / s);
    }
    std::sort(mbps.begin(), mbps.end());
    std::printf("MBPS %.3f keys %zu\n", mbps[mbps.size() / 2], keys);
    return 0;
}
