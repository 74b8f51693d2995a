#pragma once
// Charts of the project: the self-influence histogram of the training set, examples per
// class (with relabels), and the training curves (loss and accuracy per epoch).
//
// Ownership: does not own the session. Thread safety: GUI thread only.

#include <QWidget>

QT_BEGIN_NAMESPACE
class QChartView;
QT_END_NAMESPACE

namespace traclens {

class ProjectSession;

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
