#pragma once
// Help ▸ Guide, Help ▸ Keyboard Shortcuts and Help ▸ Import a PyTorch Model (pythonhelper.h): a short in-app guide (what each page shows,
// the scores and the words the pages use) and the keyboard map, each in a read-only,
// searchable text view. The texts are plain functions so tests and the docs can read them.
//
// Ownership: a plain dialog; the caller owns it. Thread safety: GUI thread only.

#include <QDialog>

class QTextBrowser;

namespace traclens {

class HelpDialog : public QDialog {
    Q_OBJECT
public:
    enum class Topic { Guide, Keyboard, PythonModel };
    explicit HelpDialog(Topic topic, QWidget *parent = nullptr);

    QTextBrowser *browser() const { return m_browser; }

    static QString guideHtml();
    static QString keyboardHtml();

private:
    QTextBrowser *m_browser;
};

} // namespace traclens
