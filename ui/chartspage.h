#pragma once
// Charts of the project: the self-influence histogram of the training set, examples per
// class (with relabels), and the training curves (loss and accuracy per epoch).
//
// Ownership: does not own the session. Thread safety: GUI thread only.

#include <QString>
#include <QWidget>

QT_BEGIN_NAMESPACE
class QChartView;
QT_END_NAMESPACE

namespace traclens {

class ProjectSession;

// The label of the decade 10^exponent on a log axis, at most four or five characters so that
// a dozen decades fit a 1280-pixel window: "0.01" to "1000" as plain numbers, "1e-9" and
// "1e4" beyond.
QString decadeLabel(int exponent);

class ChartsPage : public QWidget {
    Q_OBJECT
public:
    explicit ChartsPage(ProjectSession *session, QWidget *parent = nullptr);

    // Rebuilds every chart from the session. Session changes call it while the page is
    // visible; a hidden page is marked stale and rebuilt when shown.
    void refresh();

protected:
    void showEvent(QShowEvent *event) override;

private:
    void refreshWhenVisible();
    void refreshHistogram();
    void refreshClasses();
    void refreshCurves();

    ProjectSession *m_session;
    QChartView *m_histogram, *m_classes, *m_loss, *m_accuracy;
    bool m_stale = false;
};

} // namespace traclens
