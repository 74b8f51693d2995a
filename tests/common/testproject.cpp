#include "testproject.h"

#include "influence/computejob.h"
#include "store/importer.h"
#include "store/projectdb.h"
#include "model/trainjob.h"

namespace traclens::testing {

TrainConfig TestProject::tinyTrainConfig()
{
    TrainConfig c;
    c.width = 4;
    c.embeddingDim = 8;
    c.epochs = 2;
    c.batchSize = 16;
    c.learningRate = 0.1;
    return c;
}

TestProject::TestProject(std::string directory, SyntheticSpec spec) : m_dir(std::move(directory)), m_spec(spec) {}

Status TestProject::build(Stage upTo)
{
    m_flipped = writeSyntheticImageFolder(datasetPath(), m_spec);
    if (upTo == Stage::Images)
        return Status::ok();

    auto db = ProjectDb::open(projectPath(), ProjectDb::OpenMode::Create);
    if (!db.ok())
        return db.status().withContext("open");
    auto imported = importDataset(*db.value(), datasetPath());
    if (!imported.ok())
        return imported.status().withContext("import");
    if (upTo == Stage::Imported)
        return Status::ok();

    auto model = trainProjectModel(*db.value(), tinyTrainConfig(), "tiny");
    if (!model.ok())
        return model.status().withContext("train");
    m_modelId = model.value();
    if (Status s = db.value()->setActiveModel(m_modelId); !s)
        return s.withContext("activate");
    if (upTo == Stage::Trained)
        return Status::ok();

    ComputeOptions options;
    options.threads = 2;
    auto computed = computeFactors(*db.value(), m_modelId, options);
    if (!computed.ok())
        return computed.status().withContext("compute");
    return Status::ok();
}

} // namespace traclens::testing
