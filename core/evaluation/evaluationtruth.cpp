#include "evaluation/evaluationtruth.h"

#include "util/filereader.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>
#include <unordered_map>

namespace traclens {

namespace {

std::string trim(const std::string &s)
{
    const size_t a = s.find_first_not_of(" \t\r\n");
    if (a == std::string::npos)
        return {};
    return s.substr(a, s.find_last_not_of(" \t\r\n") - a + 1);
}

bool allDigits(const std::string &s)
{
    return !s.empty() && s.size() <= 18
           && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

} // namespace

Result<std::vector<TruthEntry>> readTruthFile(const std::string &path)
{
    Result<std::string> bytes = readFileCapped(path, kMaxManifestFileBytes, "a truth file");
    if (!bytes.ok())
        return bytes.status();
    std::vector<TruthEntry> out;
    std::istringstream in(*bytes);
    std::string line;
    int number = 0;
    int withLabel = 0, firstWith = 0, firstWithout = 0;
    while (std::getline(in, line)) {
        ++number;
        const std::string text = trim(line);
        if (text.empty() || text[0] == '#')
            continue;
        const std::string where = path + ":" + std::to_string(number) + ": ";
        // A tab separates when there is one, so paths with commas can be listed.
        const char sep = text.find('\t') != std::string::npos ? '\t' : ',';
        std::vector<std::string> fields;
        std::stringstream parts(text);
        std::string field;
        while (std::getline(parts, field, sep))
            fields.push_back(trim(field));
        if (!text.empty() && text.back() == sep)
            fields.push_back({});
        if (fields.size() > 2)
            return Status::invalid(where + "expected '<example>' or '<example>,<correct label>', found "
                                   + std::to_string(fields.size()) + " fields");
        TruthEntry e;
        e.example = fields[0];
        e.line = number;
        if (e.example.empty())
            return Status::invalid(where + "no example before the separator");
        if (fields.size() == 2) {
            e.correctLabel = fields[1];
            if (e.correctLabel.empty())
                return Status::invalid(where + "an empty correct label after the separator");
            ++withLabel;
            if (!firstWith)
                firstWith = number;
        } else if (!firstWithout) {
            firstWithout = number;
        }
        out.push_back(std::move(e));
    }
    if (out.empty())
        return Status::invalid(path + ": lists no examples (one known-wrong example per line)");
    if (withLabel > 0 && withLabel < int(out.size()))
        return Status::invalid(path + ":" + std::to_string(firstWithout) + ": gives no correct label, but line "
                               + std::to_string(firstWith) + " does; give one on every line or on none");
    return out;
}

Result<KnownErrors> resolveTruth(ProjectDb &db, const std::vector<TruthEntry> &entries, const std::string &path,
                                 bool subsetted)
{
    auto all = db.examples();
    auto classes = db.classes();
    if (!all.ok())
        return all.status();
    if (!classes.ok())
        return classes.status();
    std::unordered_map<std::string, const ExampleRow *> bySource;
    std::unordered_map<int64_t, const ExampleRow *> byId;
    for (const auto &e : *all) {
        bySource.emplace(e.source, &e);
        byId.emplace(e.id, &e);
    }
    KnownErrors out;
    out.labelled = !entries.empty() && !entries.front().correctLabel.empty();
    std::set<int64_t> seen;
    std::vector<std::pair<LabelFlip, std::string>> found;
    for (const auto &entry : entries) {
        const std::string where = path + ":" + std::to_string(entry.line) + ": ";
        const ExampleRow *row = nullptr;
        std::string key = entry.example;
        if (allDigits(key)) {
            auto it = byId.find(std::stoll(key));
            if (it != byId.end())
                row = it->second;
        } else {
            if (key.rfind("./", 0) == 0)
                key = key.substr(2);
            auto it = bySource.find(key);
            if (it != bySource.end())
                row = it->second;
        }
        if (!row) {
            if (subsetted) {
                ++out.notInProject;
                continue;
            }
            return Status::invalid(where + "'" + entry.example + "' is no example of the dataset ("
                                   + (allDigits(entry.example) ? "no example has this id"
                                                               : "no example has this path relative to the dataset root")
                                   + ")");
        }
        if (row->split != Split::Train)
            return Status::invalid(where + "'" + entry.example
                                   + "' is a test example; the rankings cover the training split");
        if (!seen.insert(row->id).second)
            return Status::invalid(where + "'" + entry.example + "' is listed twice");
        int correct = -1;
        if (!entry.correctLabel.empty()) {
            for (size_t c = 0; c < classes->size(); ++c)
                if ((*classes)[c] == entry.correctLabel)
                    correct = int(c);
            if (correct < 0 && allDigits(entry.correctLabel) && std::stoll(entry.correctLabel) < int64_t(classes->size()))
                correct = int(std::stoll(entry.correctLabel));
            if (correct < 0)
                return Status::invalid(where + "'" + entry.correctLabel + "' is not a class of the dataset");
            if (correct == row->currentLabel)
                return Status::invalid(where + "the correct label given, '" + entry.correctLabel
                                       + "', is the example's current label");
        }
        found.push_back({{row->id, correct, row->currentLabel}, row->source});
    }
    std::sort(found.begin(), found.end(),
              [](const auto &a, const auto &b) { return a.first.exampleId < b.first.exampleId; });
    for (auto &[flip, source] : found) {
        out.errors.push_back(flip);
        out.sources.push_back(std::move(source));
    }
    if (out.errors.empty())
        return Status::invalid(path + ": none of its " + std::to_string(entries.size())
                               + " examples is in the evaluated training set");
    return out;
}

} // namespace traclens
