#pragma once
// A small generated TracLens project for tests: an ImageFolder of striped pattern images
// (syntheticimages.h; 3 classes, 20 train + 4 test per class by default) in a directory
// the caller owns (e.g. a QTemporaryDir), imported into "<dir>/project.traclens", with a
// tiny built-in CNN (width 4, embedding 8, 2 epochs) trained and its TracIn factors
// computed — each step optional, so tests of the worker can drive the rest themselves.
//
// Thread safety: build() runs the engine on the calling thread.
// Failure: build() returns the first failing step's Status, prefixed with the step.

#include "util/status.h"
#include "syntheticimages.h"
#include "model/trainer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace traclens::testing {

class TestProject {
public:
    enum class Stage { Images, Imported, Trained, Computed };

    // A TrainConfig small enough for a test to train in seconds.
    static TrainConfig tinyTrainConfig();

    explicit TestProject(std::string directory, SyntheticSpec spec = {});

    // Runs every step up to and including `upTo`.
    Status build(Stage upTo = Stage::Computed);

    const std::string &directory() const { return m_dir; }
    std::string datasetPath() const { return m_dir + "/data"; }
    std::string projectPath() const { return m_dir + "/project.traclens"; }
    int64_t modelId() const { return m_modelId; }
    const SyntheticSpec &spec() const { return m_spec; }
    // Relative paths of the deliberately mislabelled training images.
    const std::vector<std::string> &flipped() const { return m_flipped; }

private:
    std::string m_dir;
    SyntheticSpec m_spec;
    int64_t m_modelId = 0;
    std::vector<std::string> m_flipped;
};

} // namespace traclens::testing
