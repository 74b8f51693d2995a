// The identity TracLens rests on, checked against LibTorch autograd: for cross-entropy
// on top of fc = Linear(D, K), the per-example gradient on (fc.weight, fc.bias) is
// (e ⊗ h, e), so ∇ℓ·∇ℓ′ = (e·e′)(h·h′ + 1) and ‖∇ℓ‖² = ‖e‖²(‖h‖² + 1), and TracIn and
// self-influence are η-weighted sums of those over checkpoints.

// LibTorch before Qt: Qt's `slots` macro would otherwise rewrite a LibTorch method name.
#include <torch/torch.h>

#include "store/factors.h"

#include <QTest>

#include <vector>

using namespace traclens;

namespace {

std::vector<float> toVector(const torch::Tensor &t)
{
    const torch::Tensor c = t.detach().contiguous().to(torch::kFloat);
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

} // namespace

class TestFactorisation : public QObject {
    Q_OBJECT

private slots:
    void matchesAutograd_data();
    void matchesAutograd();
};

void TestFactorisation::matchesAutograd_data()
{
    QTest::addColumn<int>("k");
    QTest::addColumn<int>("d");
    QTest::addColumn<int>("n");
    QTest::addColumn<double>("logitScale");
    QTest::addColumn<int>("seed");
    QTest::newRow("binary") << 2 << 3 << 6 << 1.0 << 1;
    QTest::newRow("ten classes") << 10 << 16 << 12 << 1.0 << 2;
    QTest::newRow("wide embedding") << 5 << 64 << 8 << 1.0 << 3;
    // Large logits: softmax saturates; computeFactorRow must stay stable.
    QTest::newRow("confident") << 4 << 8 << 10 << 25.0 << 4;
}

void TestFactorisation::matchesAutograd()
{
    QFETCH(int, k);
    QFETCH(int, d);
    QFETCH(int, n);
    QFETCH(double, logitScale);
    QFETCH(int, seed);
    torch::manual_seed(seed);

    const int inputs = 6;
    torch::nn::Sequential body(torch::nn::Linear(inputs, d), torch::nn::Tanh());
    torch::nn::Linear fc(d, k);
    const torch::Tensor x = torch::randn({n, inputs});
    const torch::Tensor y = torch::randint(0, k, {n}, torch::kLong);
    const std::vector<double> learningRates{0.1, 0.03, 0.01};

    // Autograd and factor versions of Σ η ∇ℓᵢ·∇ℓⱼ for every pair (diagonal = self-influence).
    std::vector<double> viaAutograd(size_t(n) * n, 0.0), viaFactors(size_t(n) * n, 0.0);
    for (double lr : learningRates) {
        // Each checkpoint: the weights after some training, here a random step.
        {
            torch::NoGradGuard noGrad;
            for (auto &p : body->parameters())
                p.add_(torch::randn_like(p) * 0.5);
            for (auto &p : fc->parameters())
                p.add_(torch::randn_like(p) * 0.5);
        }
        const torch::Tensor h = body->forward(x);
        const torch::Tensor logits = fc->forward(h) * logitScale;

        std::vector<torch::Tensor> grads;
        for (int i = 0; i < n; ++i) {
            const torch::Tensor loss = torch::nn::functional::cross_entropy(logits.slice(0, i, i + 1), y.slice(0, i, i + 1));
            const auto g = torch::autograd::grad({loss}, {fc->weight, fc->bias}, {}, /*retain_graph=*/true);
            // With a logit scale s, logits = s·fc(h): the gradient on fc is s·(e ⊗ h, e).
            grads.push_back(torch::cat({g[0].flatten(), g[1].flatten()}).to(torch::kDouble) / logitScale);

            float loss32 = 0.0f;
            std::vector<float> probs(k), e(k);
            const std::vector<float> row = toVector(logits[i]);
            computeFactorRow(row.data(), k, int(y[i].item<int64_t>()), probs.data(), e.data(), &loss32);
            QVERIFY2(std::abs(loss32 - loss.item<double>()) <= 1e-5 * std::max(1.0, loss.item<double>()),
                     qPrintable(QString("loss %1 vs %2").arg(loss32).arg(loss.item<double>())));
        }

        const std::vector<float> hs = toVector(h);
        const std::vector<float> zs = toVector(logits);
        std::vector<float> es(size_t(n) * k), probs(k);
        for (int i = 0; i < n; ++i) {
            float loss = 0.0f;
            computeFactorRow(zs.data() + size_t(i) * k, k, int(y[i].item<int64_t>()), probs.data(),
                             es.data() + size_t(i) * k, &loss);
        }
        for (int i = 0; i < n; ++i) {
            for (int j = 0; j < n; ++j) {
                viaAutograd[size_t(i) * n + j] += lr * grads[i].dot(grads[j]).item<double>();
                viaFactors[size_t(i) * n + j] +=
                    lr * gradientDot(es.data() + size_t(i) * k, hs.data() + size_t(i) * d, es.data() + size_t(j) * k,
                                     hs.data() + size_t(j) * d, k, d);
            }
            // The self-influence form used by the engine.
            const float *ei = es.data() + size_t(i) * k, *hi = hs.data() + size_t(i) * d;
            const double self = dot(ei, ei, k) * (dot(hi, hi, d) + 1.0);
            QVERIFY(std::abs(self - gradientDot(ei, hi, ei, hi, k, d)) <= 1e-12 * std::max(1.0, self));
        }
    }

    double largest = 0.0;
    for (double v : viaAutograd)
        largest = std::max(largest, std::abs(v));
    QVERIFY(largest > 0.0);
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
            const double want = viaAutograd[size_t(i) * n + j];
            const double got = viaFactors[size_t(i) * n + j];
            // float32 precision on each side; the small absolute floor covers pairs
            // whose checkpoint terms cancel.
            QVERIFY2(std::abs(got - want) <= 1e-5 * std::abs(want) + 1e-6 * largest,
                     qPrintable(QString("pair (%1, %2): factors %3 vs autograd %4").arg(i).arg(j).arg(got).arg(want)));
        }
        QVERIFY(viaFactors[size_t(i) * n + i] >= 0.0);
    }
}

QTEST_GUILESS_MAIN(TestFactorisation)
#include "test_factorisation.moc"
