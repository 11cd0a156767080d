// Pure chat logic: the sliding context-window policy, message block splitting (code, <think>),
// and the sampling presets merge.
#include <QtTest>

#include "app/chat/context_window.h"
#include "app/chat/message_blocks.h"
#include "app/chat/sampling_presets.h"

using namespace hearth::app;

namespace {
WindowMessage sys(int t) { return {true, false, t}; }
WindowMessage user(int t) { return {false, true, t}; }
WindowMessage bot(int t) { return {false, false, t}; }
}  // namespace

class ChatLogicTest : public QObject {
    Q_OBJECT
private slots:
    void reserve() {
        QCOMPARE(answerReserve(4096, 512), 512);
        QCOMPARE(answerReserve(4096, 100000), 1024);  // capped at n_ctx/4
        QCOMPARE(answerReserve(4096, -1), 1024);      // "until done": a quarter
        QCOMPARE(answerReserve(32, 4), 16);           // at least 16
    }

    void everythingFits() {
        const auto d = chooseWindow({sys(10), user(5), bot(20), user(5)}, 2, 100, 20);
        QVERIFY(d.ok);
        QCOMPARE(d.firstKept, 1);
        QCOMPARE(d.promptTokens, 42);
    }

    void oldestTurnsLeave() {
        // n_ctx 100, reserve 20 → 80 for the prompt; system+overhead 12.
        std::vector<WindowMessage> m = {sys(10), user(20), bot(20), user(20), bot(20), user(10)};
        const auto d = chooseWindow(m, 2, 100, 20);
        QVERIFY(d.ok);
        // Keeping from index 3 costs 12 + 50 = 62 ≤ 80; from 1 it would cost 102.
        QCOMPARE(d.firstKept, 3);
        QCOMPARE(d.promptTokens, 62);
        // A window never starts with an answer whose question left.
        std::vector<WindowMessage> m2 = {sys(10), user(30), bot(10), user(30), bot(5), user(10)};
        const auto d2 = chooseWindow(m2, 2, 100, 20);  // from 2 would fit (67) but index 2 is an answer
        QVERIFY(d2.ok);
        QCOMPARE(d2.firstKept, 3);
    }

    void onlyTheLastMessageFits() {
        std::vector<WindowMessage> m = {user(40), bot(40), user(60)};
        const auto d = chooseWindow(m, 0, 100, 30);
        QVERIFY(d.ok);
        QCOMPARE(d.firstKept, 2);
    }

    void messageTooLong() {
        const auto d = chooseWindow({sys(10), user(500)}, 2, 256, 64);
        QVERIFY(!d.ok);
        QVERIFY(d.error.find("500 tokens") != std::string::npos);
        QVERIFY(d.error.find("256") != std::string::npos);
        QVERIFY(!chooseWindow({}, 0, 100, 10).ok);
    }

    void blocks() {
        auto b = splitMessageBlocks(QStringLiteral("Hello **world**"));
        QCOMPARE(int(b.size()), 1);
        QCOMPARE(b[0].kind, MessageBlock::Text);

        // A template that opened <think> in the prompt: only the closing tag is in the text.
        b = splitMessageBlocks(QStringLiteral("reasoning here\n</think>\n\nThe answer."));
        QCOMPARE(int(b.size()), 2);
        QCOMPARE(b[0].kind, MessageBlock::Think);
        QCOMPARE(b[0].text, QStringLiteral("reasoning here"));
        QVERIFY(!b[0].open);
        QCOMPARE(b[1].text.trimmed(), QStringLiteral("The answer."));

        // Streaming: an open think block and an open code fence run to the end.
        b = splitMessageBlocks(QStringLiteral("<think>still thinking"));
        QCOMPARE(int(b.size()), 1);
        QVERIFY(b[0].open);
        b = splitMessageBlocks(QStringLiteral("Code:\n```python\nprint(1)\nprint(2"));
        QCOMPARE(int(b.size()), 2);
        QCOMPARE(b[1].kind, MessageBlock::Code);
        QCOMPARE(b[1].language, QStringLiteral("python"));
        QCOMPARE(b[1].text, QStringLiteral("print(1)\nprint(2"));
        QVERIFY(b[1].open);

        // Two closed code blocks with prose between; a longer fence is closed only by as long a one.
        b = splitMessageBlocks(QStringLiteral("a\n```\nx\n```\nb\n````md\n```\ninner\n```\n````\nc"));
        QCOMPARE(int(b.size()), 5);
        QCOMPARE(b[1].text, QStringLiteral("x"));
        QCOMPARE(b[3].text, QStringLiteral("```\ninner\n```"));
        QCOMPARE(b[4].text.trimmed(), QStringLiteral("c"));

        // Images in an answer are never fetched: they become their alt text.
        b = splitMessageBlocks(QStringLiteral("See ![a cat](http://tracker.example/cat.png) and <img src=\"https://x.example/p.gif\"> ok"));
        QCOMPARE(int(b.size()), 1);
        QCOMPARE(b[0].text, QStringLiteral("See [a cat] and  ok"));

        QCOMPARE(stripThinking(QStringLiteral("<think>x</think>\nAnswer")), QStringLiteral("Answer"));
        QCOMPARE(stripThinking(QStringLiteral("<think>x")), QString());
        QCOMPARE(stripThinking(QStringLiteral("plain")), QStringLiteral("plain"));
        QCOMPARE(int(displayBlocks(QStringLiteral("<think>t</think>a")).size()), 2);
    }

    void presets() {
        auto p = presetForModel(QStringLiteral("DeepSeek-R1-Distill-Qwen-1.5B"), QStringLiteral("x.gguf"));
        QVERIFY(p.has_value());
        QCOMPARE(*p->temperature, 0.6);
        QCOMPARE(*p->topP, 0.95);
        QVERIFY(!presetForModel(QStringLiteral("Llama 3.2 1B"), QStringLiteral("llama.gguf")).has_value());

        SamplingValues g;
        g.temperature = 1.0;
        g.topP = 0.5;
        auto v = effectiveSampling(g, p, true, {});
        QCOMPARE(v.temperature, 0.6);
        QCOMPARE(v.topP, 0.95);
        v = effectiveSampling(g, p, false, {});
        QCOMPARE(v.temperature, 1.0);
        v = effectiveSampling(g, p, true, QJsonObject{{"temperature", 0.2}, {"max_new_tokens", 7}});
        QCOMPARE(v.temperature, 0.2);  // the user's own choice wins
        QCOMPARE(v.topP, 0.95);
        QCOMPARE(v.maxNewTokens, 7);
    }
};

QTEST_GUILESS_MAIN(ChatLogicTest)
#include "test_chat_logic.moc"
