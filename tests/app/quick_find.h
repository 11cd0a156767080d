// Finding things in a running Qt Quick scene from a C++ test: by class (through the meta-object
// chain, so private Qt classes need no headers), by objectName, and visible buttons by their text.
#pragma once

#include <QQuickItem>
#include <QString>

namespace hearth::app::test {

inline bool inheritsClass(const QObject* o, const char* className) {
    for (const QMetaObject* mo = o->metaObject(); mo; mo = mo->superClass())
        if (qstrcmp(mo->className(), className) == 0) return true;
    return false;
}

// Every item named `name` under `item`, shown or not, through the visual tree (a view's delegates
// have no QObject parent to find them by).
inline void findItems(QQuickItem* item, const QString& name, QList<QQuickItem*>* out) {
    if (item->objectName() == name) out->append(item);
    for (QQuickItem* child : item->childItems()) findItems(child, name, out);
}

// The first item named `name` under `root`, shown or not.
inline QQuickItem* findNamed(QQuickItem* root, const QString& name) {
    QList<QQuickItem*> found;
    if (root) findItems(root, name, &found);
    return found.isEmpty() ? nullptr : found.first();
}

inline QQuickItem* findVisibleItem(QQuickItem* root, const QString& objectName) {
    if (!root) return nullptr;
    if (root->objectName() == objectName && root->isVisible()) return root;
    for (QQuickItem* child : root->childItems())
        if (QQuickItem* found = findVisibleItem(child, objectName)) return found;
    return nullptr;
}

inline QQuickItem* findVisibleButton(QQuickItem* root, const QString& text) {
    if (!root) return nullptr;
    if (inheritsClass(root, "QQuickAbstractButton") && root->isVisible() && root->property("text").toString() == text)
        return root;
    for (QQuickItem* child : root->childItems())
        if (QQuickItem* found = findVisibleButton(child, text)) return found;
    return nullptr;
}

}  // namespace hearth::app::test
