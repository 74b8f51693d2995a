#pragma once
// Writes a small ImageFolder dataset of generated pattern images for tests:
// root/<split>/<class>/<n>.png, grey, `size`×`size`. Class c draws stripes at angle
// c·180°/classes with random phase and noise, so a tiny CNN learns it in an epoch or two.
// `flipEvery` > 0 puts every n-th training image into the wrong class folder, giving
// the test known mislabelled examples.

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace traclens::testing {

struct SyntheticSpec {
    int classes = 3;
    int trainPerClass = 20;
    int testPerClass = 4;
    int size = 16;
    int flipEvery = 0;
    unsigned seed = 7;
};

inline std::string className(int c)
{
    static const char *names[] = {"stripes-0", "stripes-60", "stripes-120", "stripes-30", "stripes-90",
                                  "stripes-150", "stripes-15", "stripes-45", "stripes-75", "stripes-105"};
    return names[c % 10];
}

inline cv::Mat patternImage(int cls, int classes, int size, std::mt19937 &rng)
{
    std::uniform_real_distribution<double> phase(0.0, 6.283), noise(-25.0, 25.0);
    const double angle = cls * 3.14159265 / classes;
    const double ca = std::cos(angle), sa = std::sin(angle), ph = phase(rng);
    cv::Mat m(size, size, CV_8UC1);
    for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) {
            const double v = 128.0 + 100.0 * std::sin((x * ca + y * sa) * 1.3 + ph) + noise(rng);
            m.at<uint8_t>(y, x) = cv::saturate_cast<uint8_t>(v);
        }
    return m;
}

// Returns the relative paths (as the importer records them) of the flipped images.
inline std::vector<std::string> writeSyntheticImageFolder(const std::string &root, const SyntheticSpec &spec = {})
{
    namespace fs = std::filesystem;
    std::mt19937 rng(spec.seed);
    std::vector<std::string> flipped;
    int serial = 0;
    for (const char *split : {"train", "test"}) {
        const int per = std::string(split) == "train" ? spec.trainPerClass : spec.testPerClass;
        for (int c = 0; c < spec.classes; ++c) {
            for (int i = 0; i < per; ++i) {
                int folder = c;
                ++serial;
                if (std::string(split) == "train" && spec.flipEvery > 0 && serial % spec.flipEvery == 0)
                    folder = (c + 1) % spec.classes;
                const fs::path dir = fs::path(root) / split / className(folder);
                fs::create_directories(dir);
                const std::string name = std::to_string(serial) + ".png";
                cv::imwrite((dir / name).string(), patternImage(c, spec.classes, spec.size, rng));
                if (folder != c)
                    flipped.push_back(std::string(split) + "/" + className(folder) + "/" + name);
            }
        }
    }
    return flipped;
}

} // namespace traclens::testing
