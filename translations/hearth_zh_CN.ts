<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>AdaptersDialog</name>
    <message>
        <source>Adapters for this conversation</source>
        <translation>此对话的适配器</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>LoRA adapters change how %1 answers in this conversation. Each is checked against the model before it is used.</source>
        <translation>LoRA 适配器会改变 %1 在此对话中的回答方式。每个适配器在使用前都会与模型核对。</translation>
    </message>
    <message>
        <source>No model is loaded: adapters are checked against the model when it loads and answers.</source>
        <translation>尚未加载模型：适配器将在模型加载并回答时与之核对。</translation>
    </message>
    <message>
        <source>No adapters yet. Add a PEFT folder (adapter_config.json and adapter_model.safetensors) or a GGUF adapter.</source>
        <translation>还没有适配器。请添加 PEFT 文件夹（含 adapter_config.json 和 adapter_model.safetensors）或 GGUF 适配器。</translation>
    </message>
    <message>
        <source>On: used in answers</source>
        <translation>开：用于回答</translation>
    </message>
    <message>
        <source>Off: not used</source>
        <translation>关：不使用</translation>
    </message>
    <message>
        <source>missing</source>
        <translation>缺失</translation>
    </message>
    <message>
        <source>Scale: how strongly the adapter changes the model (1 = as trained)</source>
        <translation>强度：适配器对模型的影响程度（1 = 与训练时相同）</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Checking the adapters against the model…</source>
        <translation>正在与模型核对适配器…</translation>
    </message>
    <message>
        <source>Add file…</source>
        <translation>添加文件…</translation>
    </message>
    <message>
        <source>Add folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <source>Save merged model…</source>
        <translation>保存合并后的模型…</translation>
    </message>
    <message>
        <source>Write a copy of the model with the adapters in use built in</source>
        <translation>另存一份内置了当前所用适配器的模型</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Add a GGUF adapter</source>
        <translation>添加 GGUF 适配器</translation>
    </message>
    <message>
        <source>GGUF adapters (*.gguf)</source>
        <translation>GGUF 适配器 (*.gguf)</translation>
    </message>
    <message>
        <source>All files (*)</source>
        <translation>所有文件 (*)</translation>
    </message>
    <message>
        <source>Add a PEFT adapter folder</source>
        <translation>添加 PEFT 适配器文件夹</translation>
    </message>
    <message>
        <source>Save merged model</source>
        <translation>保存合并后的模型</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <source>GGUF models (*.gguf)</source>
        <translation>GGUF 模型 (*.gguf)</translation>
    </message>
</context>
<context>
    <name>ApiServerStatus</name>
    <message>
        <source>API server at %1 · 1 active request</source>
        <translation>API 服务器：%1 · 1 个请求进行中</translation>
    </message>
    <message>
        <source>API server at %1 · %2 active requests</source>
        <translation>API 服务器：%1 · %2 个请求进行中</translation>
    </message>
</context>
<context>
    <name>ChatPage</name>
    <message>
        <source>searching your documents…</source>
        <translation>正在检索你的文档…</translation>
    </message>
    <message>
        <source>Documents (%1)</source>
        <translation>文档 (%1)</translation>
    </message>
    <message>
        <source>Documents</source>
        <translation>文档</translation>
    </message>
    <message>
        <source>Answer from your own files: PDF, Word, PowerPoint, EPUB, text, Markdown, HTML, code</source>
        <translation>根据你自己的文件回答：PDF、Word、PowerPoint、EPUB、文本、Markdown、HTML、代码</translation>
    </message>
    <message>
        <source>documents: %1</source>
        <translation>文档：%1</translation>
    </message>
    <message>
        <source>New conversation</source>
        <translation>新对话</translation>
    </message>
    <message>
        <source>Choose a model…</source>
        <translation>选择模型…</translation>
    </message>
    <message>
        <source>Think</source>
        <translation>思考</translation>
    </message>
    <message>
        <source>Let the model reason before it answers</source>
        <translation>让模型先推理再回答</translation>
    </message>
    <message>
        <source>System prompt</source>
        <translation>系统提示词</translation>
    </message>
    <message>
        <source>System prompt for this conversation, e.g. “You are a concise assistant.”</source>
        <translation>本对话的系统提示词，例如“你是一个简洁的助手。”</translation>
    </message>
    <message>
        <source>Loading model…</source>
        <translation>正在加载模型…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>No model yet. Import a .gguf file on the Models page to start chatting. Everything stays on this computer.</source>
        <translation>还没有模型。请在“模型”页面导入一个 .gguf 文件后开始聊天。所有内容都只保存在这台电脑上。</translation>
    </message>
    <message>
        <source>Ask anything. Your conversations stay on this computer.</source>
        <translation>尽管提问。你的对话只保存在这台电脑上。</translation>
    </message>
    <message>
        <source>Go to Models</source>
        <translation>前往模型页面</translation>
    </message>
    <message>
        <source>Message (Enter to send, Shift+Enter for a new line)</source>
        <translation>输入消息（Enter 发送，Shift+Enter 换行）</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Send</source>
        <translation>发送</translation>
    </message>
    <message>
        <source>Stop generating (Esc)</source>
        <translation>停止生成（Esc）</translation>
    </message>
    <message>
        <source>Send (Enter)</source>
        <translation>发送（Enter）</translation>
    </message>
    <message>
        <source>Loading %1…</source>
        <translation>正在加载 %1…</translation>
    </message>
    <message>
        <source>No model loaded</source>
        <translation>未加载模型</translation>
    </message>
    <message>
        <source>prompt %1 tok/s</source>
        <translation>提示词 %1 词元/秒</translation>
    </message>
    <message>
        <source>generation %1 tok/s</source>
        <translation>生成 %1 词元/秒</translation>
    </message>
    <message>
        <source>context %1 / %2</source>
        <translation>上下文 %1 / %2</translation>
    </message>
    <message>
        <source>generating…</source>
        <translation>正在生成…</translation>
    </message>
    <message>
        <source>%1 (cannot be used)</source>
        <translation>%1（无法使用）</translation>
    </message>
    <message>
        <source>Adapters (%1)…</source>
        <translation>适配器（%1）…</translation>
    </message>
    <message>
        <source>Adapters…</source>
        <translation>适配器…</translation>
    </message>
    <message>
        <source>LoRA adapters for this conversation</source>
        <translation>此对话的 LoRA 适配器</translation>
    </message>
    <message>
        <source>adapters: %1</source>
        <translation>适配器：%1</translation>
    </message>
    <message>
        <source>%1 (embedding model: for the API)</source>
        <translation>%1（嵌入模型：供 API 使用）</translation>
    </message>
</context>
<context>
    <name>DiffusionModelInfo</name>
    <message>
        <source>%1 is missing</source>
        <translation>缺少 %1</translation>
    </message>
    <message>
        <source>%1 is not valid JSON</source>
        <translation>%1 不是有效的 JSON</translation>
    </message>
    <message>
        <source>the %1 folder is missing</source>
        <translation>缺少 %1 文件夹</translation>
    </message>
    <message>
        <source>the %1 folder has no .safetensors weights</source>
        <translation>%1 文件夹里没有 .safetensors 权重</translation>
    </message>
    <message>
        <source>the file is missing</source>
        <translation>文件不存在</translation>
    </message>
</context>
<context>
    <name>DiffusionModelList</name>
    <message>
        <source>%1 is not a diffusion model folder: it has no model_index.json (a Stable Diffusion folder in diffusers&apos; layout is needed).</source>
        <translation>%1 不是扩散模型文件夹：其中没有 model_index.json（需要 diffusers 布局的 Stable Diffusion 文件夹）。</translation>
    </message>
    <message>
        <source>%1 cannot be used: %2.</source>
        <translation>%1 无法使用：%2。</translation>
    </message>
    <message>
        <source>not a .safetensors file</source>
        <translation>不是 .safetensors 文件</translation>
    </message>
</context>
<context>
    <name>DocumentsBar</name>
    <message>
        <source>Get an embedding model…</source>
        <translation>获取嵌入模型…</translation>
    </message>
    <message>
        <source>Opens the model wizard on sentence-transformers/all-MiniLM-L6-v2 (about 90 MB)</source>
        <translation>在模型向导中打开 sentence-transformers/all-MiniLM-L6-v2（约 90 MB）</translation>
    </message>
    <message>
        <source>Search this document when answering</source>
        <translation>回答时检索此文档</translation>
    </message>
    <message>
        <source>indexing %1%</source>
        <translation>正在建立索引 %1%</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>1 passage</source>
        <translation>1 个段落</translation>
    </message>
    <message>
        <source>%1 passages</source>
        <translation>%1 个段落</translation>
    </message>
    <message>
        <source>Retry</source>
        <translation>重试</translation>
    </message>
    <message>
        <source>changed since indexed</source>
        <translation>建立索引后已更改</translation>
    </message>
    <message>
        <source>file gone (passages kept)</source>
        <translation>文件已不存在（段落仍保留）</translation>
    </message>
    <message>
        <source>Re-index</source>
        <translation>重新建立索引</translation>
    </message>
    <message>
        <source>Remove from this conversation (the file itself stays)</source>
        <translation>从此对话中移除（文件本身保留）</translation>
    </message>
    <message>
        <source>Add documents…</source>
        <translation>添加文档…</translation>
    </message>
    <message>
        <source>Documents are searched with an embedding model: get one in the model wizard first.</source>
        <translation>文档需要用嵌入模型检索：请先在模型向导中获取一个。</translation>
    </message>
    <message>
        <source>Add PDF, Word, PowerPoint, EPUB, text, Markdown, HTML or source files: each question is answered from the passages most like it. Nothing leaves this computer.</source>
        <translation>添加 PDF、Word、PowerPoint、EPUB、文本、Markdown、HTML 或源代码文件：每个问题都会参考与之最相近的段落来回答。所有内容都不会离开这台电脑。</translation>
    </message>
    <message>
        <source>Answers use the passages most like each question, found with %1.</source>
        <translation>回答会参考与每个问题最相近的段落（由 %1 检索）。</translation>
    </message>
    <message>
        <source>Add documents to this conversation</source>
        <translation>向此对话添加文档</translation>
    </message>
</context>
<context>
    <name>ErrorBanner</name>
    <message>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>关闭</translation>
    </message>
</context>
<context>
    <name>FileDialog</name>
    <message>
        <source>File name</source>
        <translation>文件名</translation>
    </message>
    <message>
        <source>Filter</source>
        <translation>筛选</translation>
    </message>
</context>
<context>
    <name>ImagePage</name>
    <message>
        <source>Euler</source>
        <translation>Euler</translation>
    </message>
    <message>
        <source>Euler a</source>
        <translation>Euler a</translation>
    </message>
    <message>
        <source>DDIM</source>
        <translation>DDIM</translation>
    </message>
    <message>
        <source>LCM</source>
        <translation>LCM</translation>
    </message>
    <message>
        <source>Unload the chat model for this run</source>
        <translation>本次生成时卸载聊天模型</translation>
    </message>
    <message>
        <source>Image</source>
        <translation>图像</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Choose a model</source>
        <translation>选择模型</translation>
    </message>
    <message>
        <source>No image model yet. On the Models page, choose Add folder… for a Stable Diffusion folder in diffusers&apos; layout (SD 1.5, SD 2.x or SD-Turbo), or Add checkpoint… for a single .safetensors file.</source>
        <translation>还没有图像模型。请在“模型”页点击“添加文件夹…”选择 diffusers 布局的 Stable Diffusion 文件夹（SD 1.5、SD 2.x 或 SD-Turbo），或点击“添加检查点…”选择单个 .safetensors 文件。</translation>
    </message>
    <message>
        <source>Go to Models</source>
        <translation>前往“模型”</translation>
    </message>
    <message>
        <source>The chat model is writing a prompt…</source>
        <translation>聊天模型正在写提示词…</translation>
    </message>
    <message>
        <source>Width</source>
        <translation>宽度</translation>
    </message>
    <message>
        <source>Height</source>
        <translation>高度</translation>
    </message>
    <message>
        <source>Sizes are multiples of 8 pixels (the arrows step by 64). SD 1.5 is made for 512×512, SD 2.x for 768×768, SD-Turbo for 512×512.</source>
        <translation>尺寸须为 8 像素的倍数（箭头按 64 调整）。SD 1.5 适合 512×512，SD 2.x 适合 768×768，SD-Turbo 适合 512×512。</translation>
    </message>
    <message>
        <source>Steps</source>
        <translation>步数</translation>
    </message>
    <message>
        <source>Guidance</source>
        <translation>引导强度</translation>
    </message>
    <message>
        <source>Sampler</source>
        <translation>采样器</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>种子</translation>
    </message>
    <message>
        <source>Random</source>
        <translation>随机</translation>
    </message>
    <message>
        <source>Generate</source>
        <translation>生成</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Opening the model…</source>
        <translation>正在打开模型…</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>正在开始…</translation>
    </message>
    <message>
        <source>Describe a picture and choose Generate. It is made on this computer; nothing leaves it.</source>
        <translation>描述一张图片，然后点击“生成”。图片在这台电脑上生成，不会发送到任何地方。</translation>
    </message>
    <message>
        <source>Step %1 of %2</source>
        <translation>第 %1 步，共 %2 步</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>打开</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <source>Save as…</source>
        <translation>另存为…</translation>
    </message>
    <message>
        <source>Use these settings again</source>
        <translation>再次使用这些设置</translation>
    </message>
    <message>
        <source>Delete…</source>
        <translation>删除…</translation>
    </message>
    <message>
        <source>Gallery (%1)</source>
        <translation>图库（%1）</translation>
    </message>
    <message>
        <source>Gallery</source>
        <translation>图库</translation>
    </message>
    <message>
        <source>The pictures you make are kept here.</source>
        <translation>生成的图片会保存在这里。</translation>
    </message>
    <message>
        <source>%1
%2×%3, seed %4</source>
        <translation>%1
%2×%3，种子 %4</translation>
    </message>
    <message>
        <source>Save image as</source>
        <translation>图片另存为</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <source>PNG images (*.png)</source>
        <translation>PNG 图片 (*.png)</translation>
    </message>
    <message>
        <source>Delete image?</source>
        <translation>删除图片？</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>The picture&apos;s file and its place in the gallery will be deleted.</source>
        <translation>将删除这张图片的文件及其在图库中的记录。</translation>
    </message>
    <message>
        <source>Prompt (English works best)</source>
        <translation>提示词（用英文效果最好）</translation>
    </message>
    <message>
        <source>e.g. a lighthouse on a cliff at dusk, oil painting</source>
        <translation>例如 a lighthouse on a cliff at dusk, oil painting</translation>
    </message>
    <message>
        <source>Negative prompt (used when guidance is above 1)</source>
        <translation>反向提示词（引导强度大于 1 时生效）</translation>
    </message>
    <message>
        <source>What to avoid, e.g. blurry, text</source>
        <translation>要避免的内容，例如 blurry, text</translation>
    </message>
</context>
<context>
    <name>Main</name>
    <message>
        <source>%1 — Hearth</source>
        <translation>%1 — Hearth</translation>
    </message>
    <message>
        <source>Hearth</source>
        <translation>Hearth</translation>
    </message>
    <message>
        <source>Downloading a model</source>
        <translation>正在下载一个模型</translation>
    </message>
    <message>
        <source>Downloading %1 models</source>
        <translation>正在下载 %1 个模型</translation>
    </message>
    <message>
        <source>Show</source>
        <translation>查看</translation>
    </message>
</context>
<context>
    <name>MessageDelegate</name>
    <message>
        <source>Answered from 1 passage of your documents</source>
        <translation>参考了你的文档中的 1 个段落</translation>
    </message>
    <message>
        <source>Answered from %1 passages of your documents</source>
        <translation>参考了你的文档中的 %1 个段落</translation>
    </message>
    <message>
        <source>, line %1</source>
        <translation>，第 %1 行</translation>
    </message>
    <message>
        <source>Answer</source>
        <translation>回答</translation>
    </message>
    <message>
        <source>Ask the model to answer this question</source>
        <translation>让模型回答这个问题</translation>
    </message>
    <message>
        <source>You</source>
        <translation>你</translation>
    </message>
    <message>
        <source>Assistant</source>
        <translation>助手</translation>
    </message>
    <message>
        <source>System</source>
        <translation>系统</translation>
    </message>
    <message>
        <source>Outside the context window: the model no longer sees this message.</source>
        <translation>已移出上下文窗口：模型不再能看到这条消息。</translation>
    </message>
    <message>
        <source>Stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <source>Cut off at the length limit</source>
        <translation>已达到长度上限，回答被截断</translation>
    </message>
    <message>
        <source>Interrupted — the app closed while writing this answer</source>
        <translation>已中断——写这条回答时应用关闭了</translation>
    </message>
    <message>
        <source>Stopped by an error</source>
        <translation>因出错而停止</translation>
    </message>
    <message>
        <source>Previous answer</source>
        <translation>上一个回答</translation>
    </message>
    <message>
        <source>%1/%2</source>
        <translation>%1/%2</translation>
    </message>
    <message>
        <source>Next answer</source>
        <translation>下一个回答</translation>
    </message>
    <message>
        <source>…</source>
        <translation>…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Send</source>
        <translation>发送</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <source>Edit</source>
        <translation>编辑</translation>
    </message>
    <message>
        <source>Regenerate</source>
        <translation>重新生成</translation>
    </message>
    <message>
        <source>code</source>
        <translation>代码</translation>
    </message>
    <message>
        <source>Copied</source>
        <translation>已复制</translation>
    </message>
    <message>
        <source>Copy code</source>
        <translation>复制代码</translation>
    </message>
    <message>
        <source>Thinking…</source>
        <translation>思考中…</translation>
    </message>
    <message>
        <source>Reasoning</source>
        <translation>推理过程</translation>
    </message>
    <message>
        <source>Send to Image</source>
        <translation>发送到图像</translation>
    </message>
    <message>
        <source>Use this answer as the prompt of the Image tab</source>
        <translation>把这条回答用作“图像”页的提示词</translation>
    </message>
    <message>
        <source>Write a prompt</source>
        <translation>写提示词</translation>
    </message>
    <message>
        <source>Ask the chat model to turn this answer into a short English image prompt</source>
        <translation>让聊天模型把这条回答改写成简短的英文图像提示词</translation>
    </message>
</context>
<context>
    <name>ModelWizard</name>
    <message>
        <source>Get models</source>
        <translation>获取模型</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>Files</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Download</source>
        <translation>下载</translation>
    </message>
    <message>
        <source>Convert and quantize</source>
        <translation>转换与量化</translation>
    </message>
    <message>
        <source>Quality</source>
        <translation>质量</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
</context>
<context>
    <name>ModelsPage</name>
    <message>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Folder: %1</source>
        <translation>文件夹：%1</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Import…</source>
        <translation>导入…</translation>
    </message>
    <message>
        <source>Importing %1</source>
        <translation>正在导入 %1</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Use for this conversation</source>
        <translation>用于本对话</translation>
    </message>
    <message>
        <source>Delete…</source>
        <translation>删除…</translation>
    </message>
    <message>
        <source>%1 parameters</source>
        <translation>%1 参数</translation>
    </message>
    <message>
        <source>%1 of %2 experts per token</source>
        <translation>每个词元激活 %2 个专家中的 %1 个</translation>
    </message>
    <message>
        <source>context %1</source>
        <translation>上下文 %1</translation>
    </message>
    <message>
        <source>%1 files</source>
        <translation>%1 个文件</translation>
    </message>
    <message>
        <source>reasoning</source>
        <translation>推理模型</translation>
    </message>
    <message>
        <source>Needs about %1 of memory at a %2-token context.</source>
        <translation>在 %2 词元的上下文下约需 %1 内存。</translation>
    </message>
    <message>
        <source>Will not fit: needs about %1 at a %2-token context, more than the free memory. Lower the context length or choose a smaller quantization.</source>
        <translation>内存不足：在 %2 词元的上下文下约需 %1，超过了可用内存。请降低上下文长度或选择更小的量化版本。</translation>
    </message>
    <message>
        <source>Cannot be used. %1</source>
        <translation>无法使用。%1</translation>
    </message>
    <message>
        <source>Import a GGUF model</source>
        <translation>导入 GGUF 模型</translation>
    </message>
    <message>
        <source>GGUF models (*.gguf)</source>
        <translation>GGUF 模型 (*.gguf)</translation>
    </message>
    <message>
        <source>All files (*)</source>
        <translation>所有文件 (*)</translation>
    </message>
    <message>
        <source>Import model</source>
        <translation>导入模型</translation>
    </message>
    <message>
        <source>Copy the file into Hearth&apos;s models folder, or use it where it is? Copying a large model takes a while and needs the disk space twice.</source>
        <translation>要把文件复制到 Hearth 的模型文件夹，还是在原位置直接使用？复制大模型需要一些时间，并占用双倍磁盘空间。</translation>
    </message>
    <message>
        <source>Use where it is</source>
        <translation>在原位置使用</translation>
    </message>
    <message>
        <source>Copy into folder</source>
        <translation>复制到文件夹</translation>
    </message>
    <message>
        <source>Delete model?</source>
        <translation>删除模型？</translation>
    </message>
    <message>
        <source>“%1” will be deleted from the models folder.</source>
        <translation>将从模型文件夹中删除“%1”。</translation>
    </message>
    <message>
        <source>“%1” will be removed from the list; the file itself stays where it is.</source>
        <translation>将从列表中移除“%1”；文件本身保留在原处。</translation>
    </message>
    <message>
        <source>Import failed</source>
        <translation>导入失败</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>详细信息</translation>
    </message>
    <message>
        <source>Hide details</source>
        <translation>隐藏详细信息</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>确定</translation>
    </message>
    <message>
        <source>Get models…</source>
        <translation>获取模型…</translation>
    </message>
    <message>
        <source>No models yet. Choose Get models… to download one from the catalog or a Hugging Face hub, or Import… to add a .gguf file you have. Models run entirely on this computer.</source>
        <translation>还没有模型。点击“获取模型…”从目录或 Hugging Face Hub 下载，或点击“导入…”添加已有的 .gguf 文件。模型完全在这台电脑上运行。</translation>
    </message>
    <message>
        <source>Add folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <source>Add an image model: a Stable Diffusion folder in diffusers&apos; layout (with model_index.json)</source>
        <translation>添加图像模型：diffusers 布局的 Stable Diffusion 文件夹（含 model_index.json）</translation>
    </message>
    <message>
        <source>Image models</source>
        <translation>图像模型</translation>
    </message>
    <message>
        <source>Use in Image</source>
        <translation>在“图像”中使用</translation>
    </message>
    <message>
        <source>Remove from list</source>
        <translation>从列表中移除</translation>
    </message>
    <message>
        <source>Image model</source>
        <translation>图像模型</translation>
    </message>
    <message>
        <source>weights %1</source>
        <translation>权重 %1</translation>
    </message>
    <message>
        <source>Cannot be used: %1</source>
        <translation>无法使用：%1</translation>
    </message>
    <message>
        <source>Add an image model folder</source>
        <translation>添加图像模型文件夹</translation>
    </message>
    <message>
        <source>Add checkpoint…</source>
        <translation>添加检查点…</translation>
    </message>
    <message>
        <source>Add an image model from one file: a Stable Diffusion 1.x or 2.x checkpoint (.safetensors)</source>
        <translation>从单个文件添加图像模型：Stable Diffusion 1.x 或 2.x 检查点（.safetensors）</translation>
    </message>
    <message>
        <source>Configs and tokenizer from %1</source>
        <translation>配置和分词器来自 %1</translation>
    </message>
    <message>
        <source>Add a Stable Diffusion checkpoint</source>
        <translation>添加 Stable Diffusion 检查点</translation>
    </message>
    <message>
        <source>Checkpoints (*.safetensors)</source>
        <translation>检查点 (*.safetensors)</translation>
    </message>
    <message>
        <source>Which model is it?</source>
        <translation>这是哪个模型？</translation>
    </message>
    <message>
        <source>A checkpoint file carries no tokenizer or configs. Pick the diffusers folder of the same model (for example stable-diffusion-v1-5 for an SD 1.5 fine-tune): its configs, tokenizer and scheduler are used with the file&apos;s weights.</source>
        <translation>检查点文件不包含分词器和配置。请选择同一模型的 diffusers 文件夹（例如 SD 1.5 微调模型对应 stable-diffusion-v1-5）：将使用该文件夹的配置、分词器和调度器，配合此文件的权重。</translation>
    </message>
    <message>
        <source>Choose folder…</source>
        <translation>选择文件夹…</translation>
    </message>
    <message>
        <source>The diffusers folder of the checkpoint&apos;s model</source>
        <translation>检查点所属模型的 diffusers 文件夹</translation>
    </message>
    <message>
        <source>single file</source>
        <translation>单文件</translation>
    </message>
</context>
<context>
    <name>QObject</name>
    <message>
        <source>Cannot read %1: %2</source>
        <translation>无法读取 %1：%2</translation>
    </message>
    <message>
        <source>Cannot write %1: %2</source>
        <translation>无法写入 %1：%2</translation>
    </message>
    <message>
        <source>Import cancelled.</source>
        <translation>导入已取消。</translation>
    </message>
    <message>
        <source>Cannot write %1 (is the disk full?): %2</source>
        <translation>无法写入 %1（磁盘满了吗？）：%2</translation>
    </message>
    <message>
        <source>Cannot rename %1 to %2</source>
        <translation>无法将 %1 重命名为 %2</translation>
    </message>
    <message>
        <source>A file named %1 is already in the models folder.</source>
        <translation>模型文件夹中已有名为 %1 的文件。</translation>
    </message>
</context>
<context>
    <name>SettingsPage</name>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Sampling</source>
        <translation>采样</translation>
    </message>
    <message>
        <source>Temperature (0 = always the most likely word)</source>
        <translation>温度（0 = 总是选择最可能的词）</translation>
    </message>
    <message>
        <source>Top-k (0 = off)</source>
        <translation>Top-k（0 = 关闭）</translation>
    </message>
    <message>
        <source>Top-p (1 = off)</source>
        <translation>Top-p（1 = 关闭）</translation>
    </message>
    <message>
        <source>Min-p (0 = off)</source>
        <translation>Min-p（0 = 关闭）</translation>
    </message>
    <message>
        <source>Repeat penalty (1 = off)</source>
        <translation>重复惩罚（1 = 关闭）</translation>
    </message>
    <message>
        <source>Seed (-1 = random each time)</source>
        <translation>随机种子（-1 = 每次随机）</translation>
    </message>
    <message>
        <source>Maximum answer length in tokens (-1 = until the model stops)</source>
        <translation>回答的最大词元数（-1 = 直到模型停止）</translation>
    </message>
    <message>
        <source>Use the recommended sampling of known model families (DeepSeek-R1 distills: temperature 0.6, top-p 0.95)</source>
        <translation>对已知模型系列使用推荐的采样参数（DeepSeek-R1 蒸馏模型：温度 0.6，top-p 0.95）</translation>
    </message>
    <message>
        <source>Reset sampling to defaults</source>
        <translation>将采样参数恢复默认</translation>
    </message>
    <message>
        <source>Engine</source>
        <translation>引擎</translation>
    </message>
    <message>
        <source>Context length (tokens the model can see at once)</source>
        <translation>上下文长度（模型一次能看到的词元数）</translation>
    </message>
    <message>
        <source>CPU threads (0 = automatic)</source>
        <translation>CPU 线程数（0 = 自动）</translation>
    </message>
    <message>
        <source>Compute device</source>
        <translation>计算设备</translation>
    </message>
    <message>
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>Models folder</source>
        <translation>模型文件夹</translation>
    </message>
    <message>
        <source>Choose…</source>
        <translation>选择…</translation>
    </message>
    <message>
        <source>Appearance</source>
        <translation>外观</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>System</source>
        <translation>系统</translation>
    </message>
    <message>
        <source>Theme</source>
        <translation>主题</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>浅色</translation>
    </message>
    <message>
        <source>Dark</source>
        <translation>深色</translation>
    </message>
    <message>
        <source>Privacy and support</source>
        <translation>隐私与支持</translation>
    </message>
    <message>
        <source>Log file</source>
        <translation>日志文件</translation>
    </message>
    <message>
        <source>Diagnostics (versions, devices, model, settings — never conversation text)</source>
        <translation>诊断信息（版本、设备、模型、设置——绝不包含对话内容）</translation>
    </message>
    <message>
        <source>Copied</source>
        <translation>已复制</translation>
    </message>
    <message>
        <source>Copy diagnostics</source>
        <translation>复制诊断信息</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>版本</translation>
    </message>
    <message>
        <source>Choose the models folder</source>
        <translation>选择模型文件夹</translation>
    </message>
    <message>
        <source>Layers on the GPU</source>
        <translation>GPU 上的层数</translation>
    </message>
    <message>
        <source>Context length, threads, device and GPU layers apply the next time a model is loaded.</source>
        <translation>上下文长度、线程数、设备和 GPU 层数将在下次加载模型时生效。</translation>
    </message>
    <message>
        <source>%1 was trained on %2 tokens: it will use %2, not %3. A longer context than a model was trained on only makes its answers worse.</source>
        <translation>%1 的训练上下文为 %2 个 token：它将使用 %2，而不是 %3。超出模型训练长度的上下文只会让回答变差。</translation>
    </message>
    <message>
        <source>The loaded model still uses a context of %1 tokens.</source>
        <translation>已加载的模型仍在使用 %1 个 token 的上下文。</translation>
    </message>
    <message>
        <source>Reload now</source>
        <translation>立即重新加载</translation>
    </message>
    <message>
        <source>Reload after this answer</source>
        <translation>本次回答结束后重新加载</translation>
    </message>
    <message>
        <source>Model downloads</source>
        <translation>模型下载</translation>
    </message>
    <message>
        <source>Hub endpoint</source>
        <translation>Hub 地址</translation>
    </message>
    <message>
        <source>HF_ENDPOINT is set, so downloads use %1.</source>
        <translation>已设置 HF_ENDPOINT，下载将使用 %1。</translation>
    </message>
    <message>
        <source>hf-mirror.com is a mirror that is often faster from mainland China.</source>
        <translation>hf-mirror.com 是镜像站，在中国大陆访问通常更快。</translation>
    </message>
    <message>
        <source>Access token (for gated or private models)</source>
        <translation>访问令牌（用于需授权或私有的模型）</translation>
    </message>
    <message>
        <source>hf_…</source>
        <translation>hf_…</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Hearth connects only to the hub endpoint (and the download host it redirects to), and only for downloads you start. Conversations are stored in %1.</source>
        <translation>Hearth 只连接模型 Hub 地址（及其重定向到的下载服务器），并且只在你发起下载时连接。对话保存在 %1。</translation>
    </message>
    <message>
        <source>Local API server</source>
        <translation>本地 API 服务器</translation>
    </message>
    <message>
        <source>Lets editors, scripts and agents on this computer use the loaded model through an OpenAI-compatible API while you chat. It listens on 127.0.0.1 only: other computers cannot connect.</source>
        <translation>让这台电脑上的编辑器、脚本和智能体通过兼容 OpenAI 的 API 使用已加载的模型，同时不影响你聊天。它只监听 127.0.0.1：其他电脑无法连接。</translation>
    </message>
    <message>
        <source>Serve the loaded model</source>
        <translation>提供已加载的模型</translation>
    </message>
    <message>
        <source>Port</source>
        <translation>端口</translation>
    </message>
    <message>
        <source>API key (optional: clients then send it as a bearer token)</source>
        <translation>API 密钥（可选：设置后客户端须以 Bearer 令牌发送）</translation>
    </message>
    <message>
        <source>No key: any program on this computer may connect</source>
        <translation>无密钥：这台电脑上的任何程序都可以连接</translation>
    </message>
    <message>
        <source>Show</source>
        <translation>显示</translation>
    </message>
    <message>
        <source>Address for clients</source>
        <translation>客户端地址</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <source>Off.</source>
        <translation>已关闭。</translation>
    </message>
    <message>
        <source>No model is loaded: the server starts when one is.</source>
        <translation>尚未加载模型：加载模型后服务器即启动。</translation>
    </message>
    <message>
        <source>Serving %1, up to %2 answers at once.</source>
        <translation>正在提供 %1，最多同时回答 %2 个请求。</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>正在启动…</translation>
    </message>
    <message>
        <source>Embedding model (for the chat&apos;s Documents and /v1/embeddings)</source>
        <translation>嵌入模型（用于聊天中的文档检索和 /v1/embeddings）</translation>
    </message>
    <message>
        <source>The chat model&apos;s own vectors</source>
        <translation>聊天模型自身的向量</translation>
    </message>
    <message>
        <source>Serving %1, up to %2 answers at once, and embeddings from %3.</source>
        <translation>正在提供 %1，最多同时回答 %2 个请求，嵌入向量来自 %3。</translation>
    </message>
</context>
<context>
    <name>Sidebar</name>
    <message>
        <source>Hearth</source>
        <translation>Hearth</translation>
    </message>
    <message>
        <source>New chat</source>
        <translation>新对话</translation>
    </message>
    <message>
        <source>Ctrl+N</source>
        <translation>Ctrl+N</translation>
    </message>
    <message>
        <source>Search conversations (Ctrl+F)</source>
        <translation>搜索对话（Ctrl+F）</translation>
    </message>
    <message>
        <source>No conversation matches.</source>
        <translation>没有匹配的对话。</translation>
    </message>
    <message>
        <source>No conversations yet.</source>
        <translation>还没有对话。</translation>
    </message>
    <message>
        <source>New conversation</source>
        <translation>新对话</translation>
    </message>
    <message>
        <source>Conversation actions</source>
        <translation>对话操作</translation>
    </message>
    <message>
        <source>Chat</source>
        <translation>聊天</translation>
    </message>
    <message>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Image</source>
        <translation>图像</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Rename…</source>
        <translation>重命名…</translation>
    </message>
    <message>
        <source>Export as Markdown…</source>
        <translation>导出为 Markdown…</translation>
    </message>
    <message>
        <source>Export as JSON…</source>
        <translation>导出为 JSON…</translation>
    </message>
    <message>
        <source>Delete…</source>
        <translation>删除…</translation>
    </message>
    <message>
        <source>Rename conversation</source>
        <translation>重命名对话</translation>
    </message>
    <message>
        <source>Delete conversation?</source>
        <translation>删除对话？</translation>
    </message>
    <message>
        <source>“%1” and all its messages will be deleted. This cannot be undone.</source>
        <translation>将删除“%1”及其所有消息。此操作无法撤销。</translation>
    </message>
    <message>
        <source>Export as JSON</source>
        <translation>导出为 JSON</translation>
    </message>
    <message>
        <source>Export as Markdown</source>
        <translation>导出为 Markdown</translation>
    </message>
    <message>
        <source>JSON files (*.json)</source>
        <translation>JSON 文件 (*.json)</translation>
    </message>
    <message>
        <source>Markdown files (*.md)</source>
        <translation>Markdown 文件 (*.md)</translation>
    </message>
    <message>
        <source>Stop the answer?</source>
        <translation>停止回答？</translation>
    </message>
    <message>
        <source>An answer is being written in this conversation. Stop it and switch? What was written so far is kept.</source>
        <translation>此对话中正在生成回答。要停止它并切换吗？已生成的内容会保留。</translation>
    </message>
    <message>
        <source>Keep writing</source>
        <translation>继续生成</translation>
    </message>
    <message>
        <source>Stop and switch</source>
        <translation>停止并切换</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <source>Rename</source>
        <translation>重命名</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>WizardConvertPage</name>
    <message>
        <source>Convert the checkpoint %1 to GGUF and quantize it.</source>
        <translation>将检查点 %1 转换为 GGUF 并量化。</translation>
    </message>
    <message>
        <source>Quantize %1 further, or add it as it is.</source>
        <translation>进一步量化 %1，或按原样添加。</translation>
    </message>
    <message>
        <source>Quantization</source>
        <translation>量化方式</translation>
    </message>
    <message>
        <source>Q4_K_M is the usual choice; Q8_0 is nearly lossless and twice the size.</source>
        <translation>通常选择 Q4_K_M；Q8_0 几乎无损，但体积约为两倍。</translation>
    </message>
    <message>
        <source>Importance data (optional)</source>
        <translation>重要性数据（可选）</translation>
    </message>
    <message>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <source>Choose…</source>
        <translation>选择…</translation>
    </message>
    <message>
        <source>Converting…</source>
        <translation>正在转换…</translation>
    </message>
    <message>
        <source>Quantizing…</source>
        <translation>正在量化…</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>返回</translation>
    </message>
    <message>
        <source>Add as it is</source>
        <translation>按原样添加</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Convert and quantize</source>
        <translation>转换与量化</translation>
    </message>
    <message>
        <source>Quantize</source>
        <translation>量化</translation>
    </message>
    <message>
        <source>Choose importance data (imatrix)</source>
        <translation>选择重要性数据（imatrix）</translation>
    </message>
    <message>
        <source>Importance data (*.gguf *.dat)</source>
        <translation>重要性数据 (*.gguf *.dat)</translation>
    </message>
    <message>
        <source>All files (*)</source>
        <translation>所有文件 (*)</translation>
    </message>
</context>
<context>
    <name>WizardDonePage</name>
    <message>
        <source>%1 is ready in Models.</source>
        <translation>%1 已添加到“模型”中。</translation>
    </message>
    <message>
        <source>Start chatting</source>
        <translation>开始聊天</translation>
    </message>
    <message>
        <source>Get another model</source>
        <translation>获取其他模型</translation>
    </message>
    <message>
        <source>Use for the local API&apos;s embeddings</source>
        <translation>用于本地 API 的嵌入向量</translation>
    </message>
</context>
<context>
    <name>WizardDownloadPage</name>
    <message>
        <source>%1 of %2</source>
        <translation>%1 / %2</translation>
    </message>
    <message>
        <source>%1/s</source>
        <translation>%1/秒</translation>
    </message>
    <message>
        <source>%1 left</source>
        <translation>剩余 %1</translation>
    </message>
    <message>
        <source>Paused. The downloaded part is kept.</source>
        <translation>已暂停。已下载的部分会保留。</translation>
    </message>
    <message>
        <source>Waiting for another download to finish.</source>
        <translation>正在等待另一个下载完成。</translation>
    </message>
    <message>
        <source>Stopped.</source>
        <translation>已停止。</translation>
    </message>
    <message>
        <source>Cancelled.</source>
        <translation>已取消。</translation>
    </message>
    <message>
        <source>Downloading %1</source>
        <translation>正在下载 %1</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <source>Get another model</source>
        <translation>获取其他模型</translation>
    </message>
    <message>
        <source>Cancel download</source>
        <translation>取消下载</translation>
    </message>
    <message>
        <source>You can close this window and chat meanwhile: the download goes on, and continues after Hearth restarts.</source>
        <translation>你可以关闭此窗口，同时继续聊天：下载会在后台进行，Hearth 重新启动后也会接着下载。</translation>
    </message>
    <message>
        <source>All downloads</source>
        <translation>全部下载</translation>
    </message>
    <message>
        <source>downloading</source>
        <translation>正在下载</translation>
    </message>
    <message>
        <source>waiting</source>
        <translation>等待中</translation>
    </message>
    <message>
        <source>paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <source>complete</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Remove from list</source>
        <translation>从列表中移除</translation>
    </message>
</context>
<context>
    <name>WizardFilesPage</name>
    <message>
        <source>%1 on %2</source>
        <translation>%1（来自 %2）</translation>
    </message>
    <message>
        <source>Selected: %1.</source>
        <translation>已选：%1。</translation>
    </message>
    <message>
        <source>This is a safetensors checkpoint: after the download Hearth converts it to GGUF and quantizes it.</source>
        <translation>这是 safetensors 检查点：下载完成后，Hearth 会把它转换为 GGUF 并量化。</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>返回</translation>
    </message>
    <message>
        <source>Download</source>
        <translation>下载</translation>
    </message>
</context>
<context>
    <name>WizardQualityPage</name>
    <message>
        <source>How much did quantizing cost? Hearth can measure perplexity (lower is better) before and after on a few kilobytes of English and Chinese text, and how far the answers&apos; probabilities moved (KL divergence). It takes a few minutes; you can skip it.</source>
        <translation>量化损失了多少？Hearth 可以在几 KB 的中英文文本上测量量化前后的困惑度（越低越好），以及回答概率的偏移程度（KL 散度）。这需要几分钟，可以跳过。</translation>
    </message>
    <message>
        <source>Before</source>
        <translation>量化前</translation>
    </message>
    <message>
        <source>After</source>
        <translation>量化后</translation>
    </message>
    <message>
        <source>KL divergence</source>
        <translation>KL 散度</translation>
    </message>
    <message>
        <source>Same top token</source>
        <translation>首选词元一致</translation>
    </message>
    <message>
        <source>English</source>
        <translation>英文</translation>
    </message>
    <message>
        <source>Chinese</source>
        <translation>中文</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <source>Speed (CPU)</source>
        <translation>速度（CPU）</translation>
    </message>
    <message>
        <source>%1 tok/s</source>
        <translation>%1 词元/秒</translation>
    </message>
    <message>
        <source>Measure</source>
        <translation>开始测量</translation>
    </message>
    <message>
        <source>Continue</source>
        <translation>继续</translation>
    </message>
    <message>
        <source>Skip</source>
        <translation>跳过</translation>
    </message>
    <message>
        <source>How much did quantizing cost? Hearth can embed each passage of a few kilobytes of English and Chinese text with the model before and after, and compare the two vectors (a cosine of 1 means unchanged). It takes a minute; you can skip it.</source>
        <translation>量化损失了多少？Hearth 可以用量化前后的模型分别对几 KB 英文和中文文本的每个段落生成嵌入向量，并比较两者（余弦为 1 表示没有变化）。大约需要一分钟，也可以跳过。</translation>
    </message>
    <message>
        <source>Mean cosine</source>
        <translation>平均余弦</translation>
    </message>
    <message>
        <source>Lowest</source>
        <translation>最低</translation>
    </message>
    <message>
        <source>Passages</source>
        <translation>段落数</translation>
    </message>
</context>
<context>
    <name>WizardSourcePage</name>
    <message>
        <source>Choose a model from the catalog, paste a repository of a Hugging Face hub (or a mirror), or use a file or checkpoint folder on this computer.</source>
        <translation>从目录中选择模型，粘贴 Hugging Face Hub（或镜像站）上的仓库，或使用这台电脑上的文件或检查点文件夹。</translation>
    </message>
    <message>
        <source>Repository or address, e.g. Qwen/Qwen2.5-1.5B-Instruct-GGUF</source>
        <translation>仓库或地址，例如 Qwen/Qwen2.5-1.5B-Instruct-GGUF</translation>
    </message>
    <message>
        <source>Show files</source>
        <translation>查看文件</translation>
    </message>
    <message>
        <source>File…</source>
        <translation>文件…</translation>
    </message>
    <message>
        <source>Folder…</source>
        <translation>文件夹…</translation>
    </message>
    <message>
        <source>Catalog</source>
        <translation>模型目录</translation>
    </message>
    <message>
        <source>%1 parameters</source>
        <translation>%1 参数</translation>
    </message>
    <message>
        <source>Q4_K_M %1</source>
        <translation>Q4_K_M %1</translation>
    </message>
    <message>
        <source>Choose</source>
        <translation>选择</translation>
    </message>
    <message>
        <source>the original needs an accepted licence and a token</source>
        <translation>原始模型需要先同意许可协议并提供访问令牌</translation>
    </message>
    <message>
        <source>Choose a GGUF model</source>
        <translation>选择 GGUF 模型</translation>
    </message>
    <message>
        <source>GGUF models (*.gguf)</source>
        <translation>GGUF 模型 (*.gguf)</translation>
    </message>
    <message>
        <source>All files (*)</source>
        <translation>所有文件 (*)</translation>
    </message>
    <message>
        <source>Choose a checkpoint folder (config.json and .safetensors)</source>
        <translation>选择检查点文件夹（含 config.json 和 .safetensors）</translation>
    </message>
</context>
<context>
    <name>hearth::app::AdapterController</name>
    <message>
        <source>The adapter “%1” was not found at %2. This conversation answers without it until the file is back.</source>
        <translation>未在 %2 找到适配器“%1”。在文件恢复之前，此对话将不使用它来回答。</translation>
    </message>
    <message>
        <source>Wait until the last change has been checked.</source>
        <translation>请等待上一次更改核对完成。</translation>
    </message>
    <message>
        <source>The model refused this change; the adapters stay as they were. %1</source>
        <translation>模型拒绝了此更改，适配器保持原样。%1</translation>
    </message>
    <message>
        <source>Saving failed: %1</source>
        <translation>保存失败：%1</translation>
    </message>
    <message>
        <source>%1 was not found.</source>
        <translation>未找到 %1。</translation>
    </message>
    <message>
        <source>%1 is already in the list.</source>
        <translation>%1 已在列表中。</translation>
    </message>
    <message>
        <source>Choose a model for this conversation first.</source>
        <translation>请先为此对话选择模型。</translation>
    </message>
    <message>
        <source>Switch on at least one adapter to merge.</source>
        <translation>请至少打开一个适配器再合并。</translation>
    </message>
    <message>
        <source>Choose another file name: the merged model must not replace its base model.</source>
        <translation>请换一个文件名：合并后的模型不能覆盖其基础模型。</translation>
    </message>
    <message>
        <source>Choose another file name: the merged model must not replace an adapter.</source>
        <translation>请换一个文件名：合并后的模型不能覆盖适配器。</translation>
    </message>
    <message>
        <source>Merging %1 into %2…</source>
        <translation>正在将 %1 合并到 %2…</translation>
    </message>
    <message>
        <source>Merging was cancelled; nothing was saved.</source>
        <translation>合并已取消，未保存任何文件。</translation>
    </message>
    <message>
        <source>The merged model could not be saved: %1</source>
        <translation>无法保存合并后的模型：%1</translation>
    </message>
    <message>
        <source>Saved the merged model as %1. Import it on the Models page to use it.</source>
        <translation>合并后的模型已保存为 %1。在“模型”页导入即可使用。</translation>
    </message>
</context>
<context>
    <name>hearth::app::ChatController</name>
    <message>
        <source>Your documents were not searched: %1</source>
        <translation>未能检索你的文档：%1</translation>
    </message>
    <message>
        <source>The conversation database could not be opened; nothing will be saved. The file was left as it is. (%1)</source>
        <translation>无法打开对话数据库；将不会保存任何内容。该文件保持原样，未被改动。（%1）</translation>
    </message>
    <message>
        <source>Could not load %1: %2</source>
        <translation>无法加载 %1：%2</translation>
    </message>
    <message>
        <source>Choose a model first: import a .gguf file on the Models page.</source>
        <translation>请先选择模型：在“模型”页面导入一个 .gguf 文件。</translation>
    </message>
    <message>
        <source>Saving the answer failed: %1</source>
        <translation>保存回答失败：%1</translation>
    </message>
    <message>
        <source>Saving failed: %1</source>
        <translation>保存失败：%1</translation>
    </message>
</context>
<context>
    <name>hearth::app::DocumentIndexer</name>
    <message>
        <source>The embedding model these documents were indexed with is gone (%1): add them again to search them.</source>
        <translation>为这些文档建立索引的嵌入模型已不存在（%1）：请重新添加文档后再检索。</translation>
    </message>
</context>
<context>
    <name>hearth::app::DocumentsController</name>
    <message>
        <source>Documents (*.pdf *.docx *.pptx *.odt *.odp *.epub *.txt *.md *.markdown *.html *.htm *.csv *.json *.log *.rst *.tex *.xml *.yaml *.yml)</source>
        <translation>文档 (*.pdf *.docx *.pptx *.odt *.odp *.epub *.txt *.md *.markdown *.html *.htm *.csv *.json *.log *.rst *.tex *.xml *.yaml *.yml)</translation>
    </message>
    <message>
        <source>Source code (*.c *.h *.cpp *.hpp *.py *.js *.ts *.java *.go *.rs *.rb *.php *.cs *.swift *.kt *.sh *.sql *.qml)</source>
        <translation>源代码 (*.c *.h *.cpp *.hpp *.py *.js *.ts *.java *.go *.rs *.rb *.php *.cs *.swift *.kt *.sh *.sql *.qml)</translation>
    </message>
    <message>
        <source>All files (*)</source>
        <translation>所有文件 (*)</translation>
    </message>
    <message>
        <source>Documents are searched with an embedding model, and the library has none. Get one in the model wizard, for example by pasting sentence-transformers/all-MiniLM-L6-v2.</source>
        <translation>文档需要用嵌入模型检索，而模型库中还没有。请在模型向导中获取一个，例如粘贴 sentence-transformers/all-MiniLM-L6-v2。</translation>
    </message>
    <message>
        <source>%1 is not a file</source>
        <translation>%1 不是文件</translation>
    </message>
    <message>
        <source>%1 is already attached</source>
        <translation>%1 已经添加过了</translation>
    </message>
</context>
<context>
    <name>hearth::app::DownloadController</name>
    <message>
        <source>the download stopped without saying why</source>
        <translation>下载意外停止，未给出原因</translation>
    </message>
    <message>
        <source>Accept the licence on the model&apos;s hub page, then add an access token in Settings and try again.</source>
        <translation>请先在该模型的 Hub 页面上同意许可协议，然后在“设置”中添加访问令牌，再重试。</translation>
    </message>
    <message>
        <source>Check the repository name. A private repository needs an access token in Settings.</source>
        <translation>请检查仓库名称。私有仓库需要在“设置”中添加访问令牌。</translation>
    </message>
    <message>
        <source>The file or revision is not on the hub any more: go back and choose again.</source>
        <translation>Hub 上已没有这个文件或版本：请返回重新选择。</translation>
    </message>
    <message>
        <source>Free some disk space (or choose another models folder in Settings), then resume: nothing downloaded so far is lost.</source>
        <translation>请释放一些磁盘空间（或在“设置”中换一个模型文件夹），然后继续：已下载的部分不会丢失。</translation>
    </message>
    <message>
        <source>The file arrived damaged and was deleted. Resume to download it again.</source>
        <translation>收到的文件已损坏并已删除。点击“继续”重新下载。</translation>
    </message>
    <message>
        <source>Check the internet connection, or choose a mirror in Settings, then resume: the download continues where it stopped.</source>
        <translation>请检查网络连接，或在“设置”中选择镜像站，然后继续：下载会从中断处接着进行。</translation>
    </message>
    <message>
        <source>Resume to try again; the download continues where it stopped.</source>
        <translation>点击“继续”重试；下载会从中断处接着进行。</translation>
    </message>
</context>
<context>
    <name>hearth::app::ImageController</name>
    <message>
        <source>%1 cannot be used: %2.</source>
        <translation>%1 无法使用：%2。</translation>
    </message>
    <message>
        <source>The chat model (%1) and %2 (%3) may not fit in memory together: %4 is free. Unload the chat model for this run to make room.</source>
        <translation>聊天模型（%1）和 %2（%3）可能无法同时装入内存：当前可用 %4。可在本次生成时卸载聊天模型以腾出空间。</translation>
    </message>
    <message>
        <source>Choose an image model first. Add a Stable Diffusion folder on the Models page (&quot;Add folder…&quot;).</source>
        <translation>请先选择图像模型。可在“模型”页添加 Stable Diffusion 文件夹（“添加文件夹…”）。</translation>
    </message>
    <message>
        <source>Describe the picture first: the prompt is empty.</source>
        <translation>请先描述图片：提示词为空。</translation>
    </message>
    <message>
        <source>Width and height must be multiples of %1 between %1 and %2 pixels (%3×%4 was asked for).</source>
        <translation>宽度和高度须为 %1 的倍数，且在 %1 到 %2 像素之间（当前为 %3×%4）。</translation>
    </message>
    <message>
        <source>Steps must be between 1 and %1.</source>
        <translation>步数须在 1 到 %1 之间。</translation>
    </message>
    <message>
        <source>Guidance must be between 0 and %1.</source>
        <translation>引导强度须在 0 到 %1 之间。</translation>
    </message>
    <message>
        <source>Unknown sampler &quot;%1&quot;.</source>
        <translation>未知的采样器“%1”。</translation>
    </message>
    <message>
        <source>The database could not be opened, so the gallery cannot be saved.</source>
        <translation>无法打开数据库，因此无法保存图库。</translation>
    </message>
    <message>
        <source>The seed must be a whole number (0 or more), or choose a random seed.</source>
        <translation>种子须为整数（0 或更大），或选择随机种子。</translation>
    </message>
    <message>
        <source>The image was saved as %1, but the gallery could not record it: %2</source>
        <translation>图片已保存为 %1，但图库无法记录它：%2</translation>
    </message>
    <message>
        <source>The picture could not be made: %1</source>
        <translation>无法生成图片：%1</translation>
    </message>
    <message>
        <source>Euler</source>
        <translation>Euler</translation>
    </message>
    <message>
        <source>Euler a</source>
        <translation>Euler a</translation>
    </message>
    <message>
        <source>DDIM</source>
        <translation>DDIM</translation>
    </message>
    <message>
        <source>LCM</source>
        <translation>LCM</translation>
    </message>
    <message>
        <source>“%1”</source>
        <translation>“%1”</translation>
    </message>
    <message>
        <source>not “%1”</source>
        <translation>避免“%1”</translation>
    </message>
    <message numerus="yes">
        <source>%n steps</source>
        <translation>
            <numerusform>%n 步</numerusform>
        </translation>
    </message>
    <message>
        <source>guidance %1</source>
        <translation>引导强度 %1</translation>
    </message>
    <message>
        <source>seed %1</source>
        <translation>种子 %1</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 秒</translation>
    </message>
    <message>
        <source>%1 could not be deleted.</source>
        <translation>无法删除 %1。</translation>
    </message>
    <message>
        <source>The model that made this image (%1) is not in the list any more; the other settings are filled in.</source>
        <translation>生成这张图片的模型（%1）已不在列表中；其他设置已填好。</translation>
    </message>
    <message>
        <source>The image could not be saved as %1. %2</source>
        <translation>无法将图片保存为 %1。%2</translation>
    </message>
    <message>
        <source>Load a chat model first: it writes the prompt.</source>
        <translation>请先加载聊天模型：提示词由它来写。</translation>
    </message>
    <message>
        <source>The chat model could not write a prompt: %1</source>
        <translation>聊天模型无法写出提示词：%1</translation>
    </message>
    <message>
        <source>The chat model answered with an empty prompt; write one yourself or try again.</source>
        <translation>聊天模型给出了空的提示词；请自己写一个，或再试一次。</translation>
    </message>
    <message>
        <source>The chat model (%1) and %2 (%3) may not fit together in the memory of %4: %5 is free there. Unload the chat model for this run to make room.</source>
        <translation>聊天模型（%1）和 %2（%3）可能无法同时装入 %4 的显存：其中当前可用 %5。可在本次生成时卸载聊天模型以腾出空间。</translation>
    </message>
    <message>
        <source>The device chosen in Settings (%1) was not found.</source>
        <translation>未找到在设置中选择的设备（%1）。</translation>
    </message>
    <message>
        <source>Draws on the CPU</source>
        <translation>使用 CPU 绘制</translation>
    </message>
    <message>
        <source>Draws on Vulkan: %1</source>
        <translation>使用 Vulkan 绘制：%1</translation>
    </message>
    <message>
        <source>Draws on CUDA: %1</source>
        <translation>使用 CUDA 绘制：%1</translation>
    </message>
    <message>
        <source>Draws on %1</source>
        <translation>使用 %1 绘制</translation>
    </message>
    <message>
        <source>The automatic choice passed over a GPU: %1</source>
        <translation>自动选择跳过了一个 GPU：%1</translation>
    </message>
    <message>
        <source>The automatic choice passed over a GPU, so the CPU draws: %1</source>
        <translation>自动选择跳过了 GPU，改用 CPU 绘制：%1</translation>
    </message>
</context>
<context>
    <name>hearth::app::InferenceWorker</name>
    <message>
        <source>Loading was cancelled.</source>
        <translation>加载已取消。</translation>
    </message>
    <message>
        <source>No model is loaded. Choose one on the Models page.</source>
        <translation>未加载模型。请在“模型”页面选择一个。</translation>
    </message>
    <message>
        <source>There is no question to answer.</source>
        <translation>没有需要回答的问题。</translation>
    </message>
    <message>
        <source>Your message is about %1 tokens long, but the model&apos;s context window holds %2 tokens, of which %3 are kept for the answer. Shorten the message or raise the context length in Settings.</source>
        <translation>你的消息约有 %1 个词元，但模型的上下文窗口只能容纳 %2 个词元，其中 %3 个留给回答。请缩短消息，或在设置中增大上下文长度。</translation>
    </message>
    <message>
        <source>The model&apos;s chat template failed: %1</source>
        <translation>模型的对话模板出错：%1</translation>
    </message>
    <message>
        <source>This answer was asked of %1, but %2 is loaded now. Press Regenerate to answer with the loaded model.</source>
        <translation>这个回答原本要由 %1 生成，但现在加载的是 %2。请点击“重新生成”，用已加载的模型回答。</translation>
    </message>
    <message>
        <source>An adapter of this conversation could not be attached: %1
Switch it off in Adapters… to answer without it.</source>
        <translation>无法挂载此对话的一个适配器：%1
在“适配器…”中将其关闭即可不使用它来回答。</translation>
    </message>
    <message>
        <source>The model could not be served: %1</source>
        <translation>无法通过服务器提供该模型：%1</translation>
    </message>
    <message>
        <source>The model could not be opened again: %1</source>
        <translation>无法重新打开该模型：%1</translation>
    </message>
    <message>
        <source>Port %1 is in use by another program (or cannot be opened). Choose another port.</source>
        <translation>端口 %1 已被其他程序占用（或无法打开）。请换一个端口。</translation>
    </message>
    <message>
        <source>The embedding model could not be opened, so /v1/embeddings uses the chat model: %1</source>
        <translation>无法打开嵌入模型，因此 /v1/embeddings 改用聊天模型：%1</translation>
    </message>
</context>
<context>
    <name>hearth::app::LoraMergeJob</name>
    <message>
        <source>the merge ended without writing %1</source>
        <translation>合并结束，但没有写入 %1</translation>
    </message>
</context>
<context>
    <name>hearth::app::ModelBuildJob</name>
    <message>
        <source>unknown quantization %1</source>
        <translation>未知的量化方式 %1</translation>
    </message>
    <message>
        <source>cannot move %1 to %2</source>
        <translation>无法将 %1 移动到 %2</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <source>cannot read %1</source>
        <translation>无法读取 %1</translation>
    </message>
</context>
<context>
    <name>hearth::app::ModelLibrary</name>
    <message>
        <source>Another import is still running.</source>
        <translation>另一个导入仍在进行中。</translation>
    </message>
    <message>
        <source>Cannot delete %1.</source>
        <translation>无法删除 %1。</translation>
    </message>
    <message>
        <source>Needs about %1 (weights %2 + context %3); %4 free</source>
        <translation>约需 %1（权重 %2 + 上下文 %3）；可用 %4</translation>
    </message>
    <message>
        <source>%1 needs about %2 of memory at a context of %3 tokens, but only %4 is free. Choose a smaller model or quantization, or lower the context length in Settings.</source>
        <translation>%1 在 %3 词元的上下文下约需 %2 内存，但只有 %4 可用。请选择更小的模型或量化版本，或在设置中降低上下文长度。</translation>
    </message>
    <message>
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <source>This file is not a GGUF language model, or it is damaged or incomplete.</source>
        <translation>此文件不是 GGUF 语言模型，或者已损坏、不完整。</translation>
    </message>
    <message>
        <source>This model is split into several files and some of them are missing. Put all its parts in the same folder.</source>
        <translation>此模型被拆分为多个文件，其中部分文件缺失。请把它的所有部分放在同一个文件夹中。</translation>
    </message>
    <message>
        <source>Hearth cannot run this kind of model (%1) yet.</source>
        <translation>Hearth 目前还不能运行这类模型（%1）。</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>未知</translation>
    </message>
    <message>
        <source>Hearth cannot read this model&apos;s vocabulary: its tokenizer is not supported yet. Try another model.</source>
        <translation>Hearth 无法读取此模型的词表：尚不支持它的分词器。请换一个模型。</translation>
    </message>
    <message>
        <source>%1 cannot be used. %2 (Details: %3)</source>
        <translation>无法使用 %1。%2（详细信息：%3）</translation>
    </message>
    <message>
        <source>An embedding model: it turns text into vectors for search and document retrieval, and does not chat. The local API server can serve it (Settings → Local API server).</source>
        <translation>嵌入模型：它把文本转换为向量，用于搜索和文档检索，不能用来聊天。本地 API 服务器可以提供它（设置 → 本地 API 服务器）。</translation>
    </message>
</context>
<context>
    <name>hearth::app::ModelWizard</name>
    <message>
        <source>Needs about %1 of memory</source>
        <translation>约需 %1 内存</translation>
    </message>
    <message>
        <source>Fits: needs about %1 of memory; %2 free</source>
        <translation>可以运行：约需 %1 内存；可用 %2</translation>
    </message>
    <message>
        <source>Too large for this computer: needs about %1 of memory; %2 free</source>
        <translation>对这台电脑来说太大：约需 %1 内存；可用 %2</translation>
    </message>
    <message>
        <source>There is no model &apos;%1&apos; in the catalog.</source>
        <translation>目录中没有模型“%1”。</translation>
    </message>
    <message>
        <source>The catalog offers no file of %1.</source>
        <translation>目录中没有 %1 的文件。</translation>
    </message>
    <message>
        <source>Paste a repository id such as Qwen/Qwen2.5-1.5B-Instruct-GGUF, or its address on the hub or a mirror.</source>
        <translation>请粘贴仓库 ID（例如 Qwen/Qwen2.5-1.5B-Instruct-GGUF），或它在 Hub 或镜像站上的地址。</translation>
    </message>
    <message>
        <source>%1 has no files.</source>
        <translation>%1 中没有文件。</translation>
    </message>
    <message>
        <source>Check the repository name and revision.</source>
        <translation>请检查仓库名称和版本。</translation>
    </message>
    <message>
        <source>No file of %1 matches %2.</source>
        <translation>%1 中没有与 %2 匹配的文件。</translation>
    </message>
    <message>
        <source>Choose the files below yourself.</source>
        <translation>请在下方自行选择文件。</translation>
    </message>
    <message>
        <source>Choose at least one file.</source>
        <translation>请至少选择一个文件。</translation>
    </message>
    <message>
        <source>%1 has no config.json: it is not a Hugging Face checkpoint folder.</source>
        <translation>%1 中没有 config.json：它不是 Hugging Face 检查点文件夹。</translation>
    </message>
    <message>
        <source>Choose the folder that holds config.json and the .safetensors files, or a .gguf file.</source>
        <translation>请选择包含 config.json 和 .safetensors 文件的文件夹，或选择一个 .gguf 文件。</translation>
    </message>
    <message>
        <source>%1 is neither a .gguf file nor a checkpoint folder.</source>
        <translation>%1 既不是 .gguf 文件，也不是检查点文件夹。</translation>
    </message>
    <message>
        <source>Nothing was added. Check the message, then try again (another quantization, or free disk space).</source>
        <translation>没有添加任何模型。请查看上面的信息后重试（换一种量化方式，或释放磁盘空间）。</translation>
    </message>
    <message>
        <source>The model was made and is in Models; only the quality figure could not be computed.</source>
        <translation>模型已生成并添加到“模型”中；只是未能计算质量指标。</translation>
    </message>
</context>
</TS>
