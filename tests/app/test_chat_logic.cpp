// Pure chat logic: message block splitting (code, <think>) and the sampling presets merge. (The
// context-window policy moved to the engine: tests/engine/test_prompt_policy.cpp.)
#include <QtTest>

#include "app/chat/message_blocks.h"
#include "app/chat/sampling_presets.h"

using namespace hearth::app;

class ChatLogicTest : public QObject {
    Q_OBJECT
private slots:
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
