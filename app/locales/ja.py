# ruff: noqa: E501  (Japanese counts double width; a translation stays on the line of its key where it fits)
"""Japanese UI texts: English text (the key, as the pages write it) -> Japanese.

Placeholders ({name}, {total:,}) must be the same as in the English text; tests/pages/test_i18n.py checks
that every text the pages pass to t() or N_() is here. Terms: 生成, 閲覧, データの取り込み, 分析, レビュー,
学習, 結果, ジョブ, タスク, 単語リスト, ラベル, 保存, 取り消し; gold data = ゴールドデータ, synthetic = 合成,
example = 事例, split = 分割; Self-BLEU, KADG, JSON Lines, Parquet stay as they are.
"""

MESSAGES: dict[str, str] = {
    # -- shared: navigation, sidebar, components ------------------------------------------------------
    "Language": "言語",
    "Data: `{home}`": "データ: `{home}`",
    "Home": "ホーム",
    "Browse": "データ閲覧",
    "Import data": "データの取り込み",
    "Generate": "生成",
    "Teachers": "教師モデル",
    "Annotate": "アノテーション",
    "Analysis": "分析",
    "Train": "学習",
    "Results": "結果",
    "Review": "レビュー",
    "Word lists": "単語リスト",
    "Jobs": "ジョブ",
    "Tasks": "タスク",
    "Demo data: a few dozen hand-written examples for trying japagen, not real gold data.": (
        "デモデータ: japagen を試すための数十件の手書きの事例で、実際のゴールドデータではありません。"
    ),
    "Read-only demo: browsing, charts and reports only": "閲覧専用デモ: 閲覧・グラフ・レポートのみ",
    "Read-only demo: starting jobs and changing data are turned off.": (
        "閲覧専用デモ: ジョブの開始とデータの変更はできません。"
    ),
    "gold": "ゴールド",
    "synthetic": "合成",
    "unlabeled": "ラベルなし",
    "{rows:,} rows": "{rows:,} 件",
    "examples": "事例数",
    "label": "ラベル",
    "The data store cannot be read right now.": "データストアを現在読み込めません。",
    "The job could not start.": "ジョブを開始できませんでした。",
    "Started job {id}. It runs in the background; you can close this page.": (
        "ジョブ {id} を開始しました。バックグラウンドで実行されるので、このページを閉じてもかまいません。"
    ),
    "Follow it on Jobs": "ジョブのページで進捗を見る",
    # the texts of the paper tasks
    "review": "レビュー文",
    "sentence": "文",
    "sentence 1": "文1",
    "sentence 2": "文2",
    "premise": "前提",
    "hypothesis": "仮説",
    "article": "記事",
    "tweet": "ツイート",
    "inquiry": "問い合わせ",
    # -- Home ------------------------------------------------------------------------------------------
    "Build Japanese text classifiers from LLM-generated training data (JAPAGEN): import gold data, "
    "generate labelled examples with an LLM, review them, and fine-tune a small BERT on them.": (
        "LLM が生成した学習データから日本語テキスト分類器を作ります (JAPAGEN)。ゴールドデータを取り込み、"
        "LLM でラベル付き事例を生成してレビューし、それを使って小さな BERT をファインチューニングします。"
    ),
    "Your store is empty": "ストアは空です",
    "This read-only demo has no data to show.": "この閲覧専用デモには表示できるデータがありません。",
    "Load the demo project to see every page with data (a few dozen hand-written rows per task), "
    "or import your own gold data.": (
        "デモプロジェクト (タスクごとに数十件の手書きデータ) を読み込むと、すべてのページをデータ入りで確認できます。"
        "自分のゴールドデータを取り込むこともできます。"
    ),
    "Load demo project": "デモプロジェクトを読み込む",
    "Loading the demo project...": "デモプロジェクトを読み込んでいます...",
    "The demo project could not be loaded.": "デモプロジェクトを読み込めませんでした。",
    "Import gold data": "ゴールドデータの取り込み",
    "Datasets": "データセット",
    "Examples": "事例",
    "Tasks with data": "データのあるタスク",
    "Demo datasets are marked DEMO.": "デモのデータセットには DEMO と表示されます。",
    "In the store": "ストアの内容",
    "demo": "デモ",
    "task": "タスク",
    "split": "分割",
    "kind": "種類",
    "rows": "件数",
    "labels": "ラベル",
    "name": "名前",
    "Next steps": "次にできること",
    "Browse examples: filter by label and text": "事例を閲覧: ラベルとテキストで絞り込み",
    "Import gold data: JGLUE, JCoLA, Livedoor, CSV/JSONL/Parquet": (
        "ゴールドデータの取り込み: JGLUE、JCoLA、Livedoor、CSV/JSONL/Parquet"
    ),
    "See the tasks and their labels, or define your own": "タスクとそのラベルを見る、または独自のタスクを定義する",
    "Generate labelled examples with an LLM": "LLM でラベル付き事例を生成する",
    "Analyse diversity, closeness to gold, label correctness": "多様性・ゴールドとの近さ・ラベル正解率を分析する",
    "Remove the demo data": "デモデータの削除",
    "This deletes the {count} demo datasets. Your own data stays.": (
        "デモのデータセット {count} 件を削除します。自分のデータはそのまま残ります。"
    ),
    "Remove demo data": "デモデータを削除",
    "The demo data could not be removed.": "デモデータを削除できませんでした。",
    # -- Browse ----------------------------------------------------------------------------------------
    "No datasets yet. Load the demo project on the Home page, or import gold data.": (
        "データセットはまだありません。ホームでデモプロジェクトを読み込むか、ゴールドデータを取り込んでください。"
    ),
    "Dataset": "データセット",
    "This dataset belongs to the task {task!r}, which is not defined any more "
    "(a user task file was removed or is broken: see the Tasks page).": (
        "このデータセットのタスク {task!r} は定義されていません"
        " (ユーザータスクのファイルが削除されたか壊れています。タスクのページを確認してください)。"
    ),
    "{task} · {rows:,} examples by label": "{task} · ラベル別の事例 {rows:,} 件",
    "Labels": "ラベル",
    "All labels": "すべてのラベル",
    "Text contains": "テキストに含む語",
    "e.g. 犬": "例: 犬",
    "Rows per page": "1ページの件数",
    "Page (of {pages:,})": "ページ (全 {pages:,} ページ)",
    "No examples match these filters.": "この条件に合う事例はありません。",
    "Showing {start:,}–{end:,} of {total:,} matching examples": "該当する {total:,} 件のうち {start:,}–{end:,} 件目を表示",
    "score": "スコア",
    "KADG word": "KADG の単語",
    "setting": "設定",
    "model": "モデル",
    "prompt": "プロンプト",
    "duplicate of": "重複元",
    "source id": "元の ID",
    "Select a row to read it in full.": "行を選ぶと全文を表示します。",
    "Example #{row}": "事例 #{row}",
    "Provenance": "生成の記録",
    # -- Import data -----------------------------------------------------------------------------------
    "JGLUE JSON Lines (JSTS, JNLI, MARC-ja), JCoLA (JSON Lines or TSV), the Livedoor News corpus "
    "(`ldcc-*.tar.gz` or its extracted folder) and any CSV / TSV / JSON Lines / Parquet file with a column "
    "mapping. A file with a problem is refused as a whole, with the line and the problem named.": (
        "JGLUE の JSON Lines (JSTS、JNLI、MARC-ja)、JCoLA (JSON Lines または TSV)、Livedoor ニュースコーパス"
        " (`ldcc-*.tar.gz` または展開したフォルダ)、および列を対応づけた任意の CSV / TSV / JSON Lines / Parquet "
        "ファイルを取り込めます。問題のあるファイルは全体が拒否され、その行と問題点が示されます。"
    ),
    "Read-only demo: importing data is turned off here.": "閲覧専用デモ: ここではデータを取り込めません。",
    "Task": "タスク",
    "Split name": "分割名",
    "e.g. train, valid, test": "例: train、valid、test",
    "Upload a file": "ファイルをアップロード",
    "A path on this machine": "このマシン上のパス",
    "Source": "取り込み元",
    "Gold file": "ゴールドデータのファイル",
    "File or folder path": "ファイルまたはフォルダのパス",
    "Format": "形式",
    "auto (from the file name)": "自動 (ファイル名から判定)",
    "Texts without labels (for LLM annotation)": "ラベルなしのテキスト (LLM アノテーション用)",
    "a label column, if any, is kept aside": "ラベル列がある場合は別に保持されます",
    "Field mapping (for generic CSV / JSONL / Parquet files)": "列の対応づけ (一般の CSV / JSONL / Parquet ファイル用)",
    "Defaults are the task's native gold format; change them to match your file's column names.": (
        "既定値はタスク本来のゴールドデータ形式です。ファイルの列名に合わせて変更してください。"
    ),
    "{name} field": "{name} の列",
    "Livedoor split": "Livedoor の分割",
    "Split sizes": "分割の大きさ",
    "The paper's proportions (4,375 : 625 : 1,475) of all articles": "全記事を論文の比率 (4,375 : 625 : 1,475) で分割",
    "The paper's exact sizes: 4,375 / 625 / 1,475 articles": "論文と同じ件数: 4,375 / 625 / 1,475 記事",
    "Seed": "シード",
    "Split name `all` imports train, dev and test at once.": "分割名を `all` にすると train・dev・test をまとめて取り込みます。",
    "Import": "取り込む",
    "Reading and checking every row...": "すべての行を読み込んで確認しています...",
    "Nothing was imported: the file was refused.": "何も取り込まれませんでした: ファイルが拒否されました。",
    "Nothing was imported: the file could not be read.": "何も取り込まれませんでした: ファイルを読み込めませんでした。",
    "Imported {rows:,} rows as `{id}`.": "{rows:,} 件を `{id}` として取り込みました。",
    "This file was already imported as `{id}`; nothing changed.": (
        "このファイルは `{id}` として取り込み済みです。何も変更していません。"
    ),
    "Browse {id}": "{id} を閲覧",
    # -- Tasks -----------------------------------------------------------------------------------------
    "The six tasks of the JAPAGEN paper, plus tasks you define. A user task is a YAML file in "
    "`{folder}` and works everywhere a paper task works.": (
        "JAPAGEN 論文の6つのタスクと、自分で定義したタスクです。ユーザータスクは `{folder}` にある YAML "
        "ファイルで、論文のタスクと同じようにどこでも使えます。"
    ),
    "A task file was skipped:": "タスクのファイルを読み飛ばしました:",
    "Accuracy": "正解率 (Accuracy)",
    "Spearman correlation": "スピアマン相関",
    "Matthews correlation (MCC)": "マシューズ相関係数 (MCC)",
    "paper task": "論文のタスク",
    "user task ({source})": "ユーザータスク ({source})",
    "Input": "入力",
    "sentence pair": "文のペア",
    "single text": "単一のテキスト",
    "Metric": "評価指標",
    "Max tokens": "最大トークン数",
    "Gold data carries a similarity score from {low} to {high}; the LLM generates the grades below.": (
        "ゴールドデータは {low} から {high} の類似度スコアを持ち、LLM は以下の段階ごとに生成します。"
    ),
    "Japanese name": "日本語名",
    "description": "説明",
    "Gold file fields:": "ゴールドデータの列:",
    "Define your own task": "独自のタスクを定義する",
    "Copy this file to a new name in the tasks folder, edit it, and restart the app:": (
        "このファイルを tasks フォルダに別名でコピーして編集し、アプリを再起動してください:"
    ),
    # -- Generate --------------------------------------------------------------------------------------
    "Zero-shot: the task description and one instruction per label.": "Zero-shot: タスクの説明とラベルごとの指示を1つ送ります。",
    "Few-shot: one gold example of the label goes into each prompt (drawn at random, seeded).": (
        "Few-shot: 各プロンプトにそのラベルのゴールド事例を1つ入れます (シード付きでランダムに選択)。"
    ),
    "KADG: a random word from the task's word list goes into each prompt, for diversity.": (
        "KADG: 多様性のため、タスクの単語リストからランダムに選んだ単語を各プロンプトに入れます。"
    ),
    "An LLM writes labelled training examples for a task. The run is a background job: follow it on Jobs.": (
        "LLM がタスクのラベル付き学習事例を書きます。実行はバックグラウンドのジョブで、ジョブのページで進捗を確認できます。"
    ),
    "No usable prompt spec for {task}.": "{task} に使えるプロンプト定義がありません。",
    "Setting": "設定",
    "Gold examples from": "ゴールド事例の取得元",
    "Few-shot needs a gold {task} dataset to draw examples from: import one first.": (
        "Few-shot には事例を選ぶための {task} のゴールドデータセットが必要です。先に取り込んでください。"
    ),
    "Examples per label (M)": "ラベルごとの事例数 (M)",
    "Model and endpoint": "モデルとエンドポイント",
    "Model": "モデル",
    "Base URL (empty: OpenAI)": "ベース URL (空欄: OpenAI)",
    "http://127.0.0.1:8000/v1 for vLLM / Ollama / llama.cpp": "vLLM / Ollama / llama.cpp なら http://127.0.0.1:8000/v1",
    "No API key is configured, so nothing can be sent yet. Set `OPENAI_API_KEY` in the environment "
    "(or in `.streamlit/secrets.toml`) and restart, or point the base URL at a local server.": (
        "API キーが設定されていないため、まだ何も送信できません。環境変数 (または `.streamlit/secrets.toml`) に "
        "`OPENAI_API_KEY` を設定して再起動するか、ベース URL をローカルサーバーに向けてください。"
    ),
    "Sampling and throughput": "サンプリングとスループット",
    "Temperature": "温度 (temperature)",
    "Top-p": "Top-p",
    "Frequency penalty": "頻度ペナルティ",
    "Choices per call (n)": "1回の呼び出しの候補数 (n)",
    "Concurrent requests": "同時リクエスト数",
    "Requests per minute (0: no limit)": "1分あたりのリクエスト数 (0: 無制限)",
    "Numbered list instead of n": "n の代わりに番号付きリスト",
    "for servers that ignore n": "n を無視するサーバー向け",
    "Defaults are the paper's: temperature 1.2, top-p 1.0, frequency penalty 0.02, 500 tokens, 5 per call.": (
        "既定値は論文と同じです: 温度 1.2、top-p 1.0、頻度ペナルティ 0.02、500 トークン、1回あたり5件。"
    ),
    "These settings are not valid.": "この設定は無効です。",
    "What will be sent": "送信される内容",
    "Preview for label": "プレビューするラベル",
    "Draw another word / example": "別の単語・事例を選ぶ",
    "The KADG word list cannot be used.": "KADG の単語リストを使えません。",
    "KADG word list `{name}`, version {version} ({count} words); drawn:": (
        "KADG の単語リスト `{name}`、バージョン {version} ({count} 語)。選ばれた単語:"
    ),
    "See the word list": "単語リストを見る",
    "Edit the word list": "単語リストを編集する",
    "The gold dataset has no example of {label}.": "ゴールドデータセットに {label} の事例がありません。",
    "Stage 1: the first sentence (no label)": "第1段階: 1文目 (ラベルなし)",
    "Stage 2: the second sentence for the label": "第2段階: ラベルに応じた2文目",
    "One call": "1回の呼び出し",
    "Prompt spec {file}, version {version}.": "プロンプト定義 {file}、バージョン {version}。",
    "Before you launch": "実行の前に",
    "What a run would take": "実行に必要な量",
    "API calls (about)": "API 呼び出し回数 (概算)",
    "Estimated cost": "推定コスト",
    "unknown": "不明",
    "About {prompt_tokens:,} prompt tokens (1 per Japanese character) and ~120 output tokens per example; "
    "at most ${upper:,.2f} if every answer used all {max_tokens} tokens. Prices known for: {models}.": (
        "プロンプトは約 {prompt_tokens:,} トークン (日本語1文字あたり1トークン)、出力は事例あたり約120トークン。"
        "すべての回答が {max_tokens} トークンを使い切っても最大 ${upper:,.2f} です。価格がわかるモデル: {models}。"
    ),
    "No price is known for `{model}` (a local model costs nothing); tokens are counted as the job runs.": (
        "`{model}` の価格は不明です (ローカルモデルは無料)。トークン数はジョブの実行中に数えます。"
    ),
    "Paper scale: {count:,} per label with the paper's sampling": "論文の規模: ラベルあたり {count:,} 件、論文のサンプリング設定",
    "The paper's sampling: temperature 1.2, top-p 1.0, frequency penalty 0.02, 500 tokens, 5 per call.": (
        "論文のサンプリング設定: temperature 1.2、top-p 1.0、frequency penalty 0.02、500 トークン、1回に5件。"
    ),
    "OpenAI Batch API: half the price, answers within 24 h a round (pair tasks: two rounds)": (
        "OpenAI Batch API: 半額、1ラウンドあたり24時間以内に回答 (文ペアのタスクは2ラウンド)"
    ),
    "Time (about)": "所要時間 (概算)",
    "up to {hours:,.0f} h": "最大 {hours:,.0f} 時間",
    "{hours:,.1f} h": "{hours:,.1f} 時間",
    "Batch API: half the synchronous price (${sync:,.2f} synchronously); {rounds} round(s) of at most 24 h "
    "each, usually much less. The job follows its batches on Jobs; a job that is stopped or killed "
    "follows the same batches when resumed and pays for nothing twice.": (
        "Batch API: 通常の呼び出しの半額です (通常なら ${sync:,.2f})。{rounds} ラウンド、各ラウンド最大24時間で、"
        "たいていはずっと短く済みます。ジョブはバッチの進み具合を「ジョブ」に表示します。止まったジョブや強制終了された"
        "ジョブは再開すると同じバッチを追い、同じ呼び出しに二度支払うことはありません。"
    ),
    "Time at about {seconds:.0f} s per call with {concurrency} concurrent requests "
    "(and the requests-per-minute limit).": (
        "1回の呼び出しを約 {seconds:.0f} 秒、同時リクエスト数 {concurrency} (と1分あたりのリクエスト上限) として見積もった時間です。"
    ),
    "Dry run: send one call": "試し実行: 1回だけ送信",
    "Calling the model...": "モデルを呼び出しています...",
    "The dry run failed.": "試し実行に失敗しました。",
    "Answer ({prompt} prompt + {completion} completion tokens):": "回答 (プロンプト {prompt} + 出力 {completion} トークン):",
    "(empty)": "(空)",
    "This answer would be recorded as a failure: {reason}.": "この回答は失敗として記録されます: {reason}。",
    "Cleaned:": "整形後:",
    "Launch": "実行",
    # -- Annotate --------------------------------------------------------------------------------------
    "The LLM labels texts you already have: import them with **Import data** (tick *texts without labels*, "
    "or use a gold split to measure agreement). Low temperature suits labelling; answers that name no label "
    "are kept with their raw text.": (
        "手元のテキストに LLM がラベルを付けます。**データの取り込み** で取り込んでください"
        " (*ラベルなしのテキスト* にチェック、または一致率を測るにはゴールドの分割を使用)。"
        "ラベル付けには低い温度が向いています。ラベルを答えなかった回答は元のテキストとともに保存されます。"
    ),
    "Texts to label": "ラベルを付けるテキスト",
    "No {task} texts yet. Import some on the Import data page (tick “texts without labels”).": (
        "{task} のテキストはまだありません。データの取り込みのページで取り込んでください (「ラベルなしのテキスト」にチェック)。"
    ),
    "No API key is configured: set OPENAI_API_KEY, or point the base URL at a local server.": (
        "API キーが設定されていません。OPENAI_API_KEY を設定するか、ベース URL をローカルサーバーに向けてください。"
    ),
    "What will be sent (for the first text)": "送信される内容 (最初のテキストの場合)",
    "API calls": "API 呼び出し回数",
    # -- Analysis --------------------------------------------------------------------------------------
    "Compare datasets with a gold split, as in the paper's Table 2 and Figure 2: diversity (Self-BLEU), "
    "closeness of the token distribution (weighted Jaccard), and label correctness (a classifier trained on "
    "gold).": (
        "論文の表2・図2と同じように、データセットをゴールドの分割と比べます: 多様性 (Self-BLEU)、"
        "トークン分布の近さ (重み付き Jaccard)、ラベル正解率 (ゴールドで学習した分類器)。"
    ),
    "Analyses compare with a gold split: import one (or load the demo project on Home) first.": (
        "分析はゴールドの分割と比べます。先に取り込んでください (またはホームでデモプロジェクトを読み込んでください)。"
    ),
    "Gold split to compare with": "比較するゴールドの分割",
    "Gold split the classifier trains on": "分類器を学習するゴールドの分割",
    "(no label correctness)": "(ラベル正解率は測らない)",
    "Trained on the split it is compared with: the gold row shows training accuracy.": (
        "比較対象と同じ分割で学習しています。ゴールドの行は学習データでの正解率になります。"
    ),
    "Datasets to analyse": "分析するデータセット",
    "Protocol": "評価の手順",
    "Texts per label (sample)": "ラベルごとのテキスト数 (サンプル)",
    "BLEU n-gram order": "BLEU の n-gram の次数",
    "Tokens": "トークン",
    "MeCab (unidic-lite) surface forms by default": "既定は MeCab (unidic-lite) の表層形",
    "each sentence as its own text": "各文を1つのテキストとして",
    "Compare datasets with a gold split, as in the paper's Table 2 and Figure 2: diversity (Self-BLEU), closeness of the token distribution (weighted Jaccard), and label correctness (a BERT fine-tuned on gold, as in the paper, or a quick estimate).": "論文の表2・図2と同じく、データセットをゴールドの分割と比べます: 多様性 (Self-BLEU)、トークン分布の近さ (重み付き Jaccard)、ラベルの正しさ (論文と同じくゴールドで fine-tune した BERT、または簡易推定)。",
    "Label correctness by": "ラベルの正しさの判定方法",
    "quick estimate: TF-IDF + logistic regression, class-balanced": "簡易推定: TF-IDF + ロジスティック回帰 (クラス均衡)",
    "BERT fine-tuned on gold: {model}": "ゴールドで fine-tune した BERT: {model}",
    "The paper scores labels with a BERT fine-tuned on gold data (train one on the Train page with gold data). The quick estimate is a fast stand-in; its numbers are not the paper's.": "論文はゴールドデータで fine-tune した BERT でラベルを判定します (学習ページでゴールドデータから学習できます)。簡易推定は速い代用で、その数値は論文のものではありません。",
    "Gold split the quick classifier trains on": "簡易分類器を学習するゴールドの分割",
    "Trained on the split it is compared with: its own row is scored by 5-fold cross-validation, never by training accuracy.": "比較対象と同じ分割で学習: その行は学習時の正解率ではなく、5分割交差検証で評価します。",
    "Rows the model trained on are left out of its scores (out of sample only).": "モデルが学習した行は評価から除きます (学習外のデータのみ)。",
    "each sentence on its own (the paper's protocol)": "各文を別々に (論文の手順)",
    "both sentences pooled (not the paper's protocol)": "両方の文をまとめて (論文の手順ではない)",
    "Which texts of a pair are scored": "文ペアのどのテキストを評価するか",
    "grade": "段階",
    "Protocol: {n:,} texts per {group}, seed {seed}, BLEU-{order}.": "手順: {group}ごとに {n:,} テキスト、シード {seed}、BLEU-{order}。",
    "The headline figure is the first sentence; the second is shown beside it.": "代表値は1文目です。2文目はその隣に示します。",
    "Both sentences pooled: not the paper's protocol, not comparable with its Table 2.": "両方の文をまとめた値: 論文の手順ではなく、論文の表2とは比べられません。",
    "This is the paper's protocol: on gold JNLI valid it gives 73.15 against the paper's 72.94 (Table 2).": "これは論文の手順です: ゴールドの JNLI valid で 73.15 (論文の表2では 72.94)。",
    "first sentence": "1文目",
    "second sentence": "2文目",
    "pooled": "まとめて",
    "balanced accuracy": "バランス正解率",
    "correctness method": "判定方法",
    "BERT": "BERT",
    "quick estimate": "簡易推定",
    "scored out of sample": "学習外での評価",
    "5-fold cross-validated": "5分割交差検証",
    "unseen rows": "未学習の行",
    "degenerate": "退化",
    "DEGENERATE": "退化 (DEGENERATE)",
    "n": "件数",
    "Label correctness: the share (%) of examples whose label the gold-trained classifier agrees with; higher is better. Balanced accuracy averages the recall of each label; 'degenerate' means some label's recall is below 5%, so the accuracy says little.": "ラベルの正しさ: ゴールドで学習した分類器がラベルに同意する事例の割合 (%)。高いほど良い。バランス正解率は各ラベルの再現率の平均です。「退化」はあるラベルの再現率が 5% 未満であることを示し、その正解率はほとんど意味を持ちません。",
    "Quick estimate (TF-IDF + logistic regression, class-balanced): not the paper's BERT; its numbers are not comparable with Table 2's label correctness.": "簡易推定 (TF-IDF + ロジスティック回帰、クラス均衡): 論文の BERT ではなく、その数値は表2のラベルの正しさとは比べられません。",
    "recall (%)": "再現率 (%)",
    "label correctness (MSE)": "ラベルの正しさ (MSE)",
    "You have your own data now. The demo datasets are never chosen by default, but you can remove them so that no demo row remains in counts, lists and reports.": "自分のデータが入りました。デモのデータセットが既定で選ばれることはありませんが、削除すれば件数・一覧・レポートにデモの行が残りません。",
    "Remove the demo data now": "デモデータを今すぐ削除",
    "One block per task. Diversity: Self-BLEU, lower is more diverse. Closeness to gold: weighted Jaccard of token frequencies, 1 is identical. Label correctness: how often a classifier trained on gold data agrees with the labels. Under each block: the dataset, split, method and n behind each figure.": "タスクごとに1ブロック。多様性: Self-BLEU、低いほど多様。ゴールドとの近さ: トークン頻度の重み付き Jaccard、1 で同一。ラベルの正しさ: ゴールドで学習した分類器がラベルに同意する割合。各ブロックの下に、それぞれの数値のもとになったデータセット・分割・方法・件数を示します。",
    "DEMO · these figures count the hand-written demo data, not real results.": "DEMO · これらの数値は手書きのデモデータを含み、実際の結果ではありません。",
    "{figure}: {source}": "{figure}: {source}",
    "Best model: {row}, {score} on gold {split} data ({dataset}).": "最良のモデル: {row}、ゴールドの {split} データで {score} ({dataset})。",
    "the first sentence": "1文目",
    "the second sentence": "2文目",
    "Which text of a pair is scored": "ペアのどのテキストを評価するか",
    "Self-BLEU grows with the number of texts, so compare scores only at the same sample size.": (
        "Self-BLEU はテキスト数とともに大きくなるため、同じサンプル数のスコアどうしで比べてください。"
    ),
    "each sentence of a pair as its own text": "ペアの各文を1つのテキストとして",
    "Scored text: {text}.": "評価するテキスト: {text}。",
    "Run the analysis": "分析を実行",
    "The analysis could not start.": "分析を開始できませんでした。",
    "Started job {id}; results appear here when it ends.": "ジョブ {id} を開始しました。終了すると結果がここに表示されます。",
    "No results yet for these datasets: run the analysis.": "これらのデータセットの結果はまだありません。分析を実行してください。",
    "dataset": "データセット",
    "texts scored": "評価したテキスト数",
    "weighted Jaccard": "重み付き Jaccard",
    "label correctness": "ラベル正解率",
    "protocol": "手順",
    "Diversity and label correctness (Table 2)": "多様性とラベル正解率 (表2)",
    "Self-BLEU: lower means more diverse texts. Weighted Jaccard: 1.0 means the same token distribution as "
    "the gold split, 0 nothing in common.": (
        "Self-BLEU: 低いほどテキストが多様です。重み付き Jaccard: 1.0 はゴールドの分割と同じトークン分布、"
        "0 は共通点なしを表します。"
    ),
    "Label correctness: the share (%) of examples whose label the gold-trained classifier agrees with; "
    "higher is better.": (
        "ラベル正解率: ゴールドで学習した分類器がラベルに同意した事例の割合 (%) で、高いほど良い値です。"
    ),
    "Label correctness: mean squared error of the gold-trained model's score; lower is better.": (
        "ラベル正解率: ゴールドで学習したモデルのスコアとの平均二乗誤差で、低いほど良い値です。"
    ),
    "only in gold": "ゴールドのみ",
    "in both": "両方",
    "only in this set": "このデータのみ",
    "Token overlap with gold (Figure 2)": "ゴールドとのトークンの重なり (図2)",
    "share of its tokens": "トークンに占める割合",
    "part": "区分",
    "'Only in gold': the share of gold's tokens this set never uses (what it misses); 'in both': the share "
    "of this set's tokens gold uses too; 'only in this set': the share gold never uses (what it invents). "
    "Shorter 'only' bars mean closer to gold.": (
        "「ゴールドのみ」: ゴールドのトークンのうち、このデータが一度も使わないものの割合 (欠けているもの)。"
        "「両方」: このデータのトークンのうち、ゴールドも使うものの割合。"
        "「このデータのみ」: ゴールドが一度も使わないものの割合 (新たに作られたもの)。"
        "「のみ」の棒が短いほどゴールドに近いことを表します。"
    ),
    "Drill down": "詳しく見る",
    "Self-BLEU per KADG word (lower: the word led to more varied texts)": (
        "KADG の単語ごとの Self-BLEU (低いほど、その単語からより多様なテキストが生まれた)"
    ),
    "token": "トークン",
    "gold share": "ゴールドでの割合",
    "this set's share": "このデータでの割合",
    "Over-represented tokens (more frequent than in gold)": "多すぎるトークン (ゴールドより頻度が高い)",
    "Under-represented tokens (rarer than in gold)": "少なすぎるトークン (ゴールドより頻度が低い)",
    "predicted": "予測",
    "assigned": "付与",
    "Confusion matrix: rows are the labels the examples carry, columns what the gold-trained classifier "
    "predicts; the diagonal is agreement, off-diagonal cells are candidate mislabels.": (
        "混同行列: 行は事例に付いているラベル、列はゴールドで学習した分類器の予測です。"
        "対角線は一致、対角線の外のセルは誤ラベルの候補です。"
    ),
    "Review these candidate mislabels": "この誤ラベル候補をレビューする",
    # -- Train -----------------------------------------------------------------------------------------
    "Synthetic data (JAPAGEN)": "合成データ (JAPAGEN)",
    "Synthetic data, scaling series": "合成データ (データ量を変えた系列)",
    "Gold few-shot": "ゴールド few-shot",
    "All gold training data": "ゴールドの学習データすべて",
    "Mixture: gold + synthetic": "混合: ゴールド + 合成",
    "Fine-tune a BERT student on a reviewed snapshot of synthetic data, on gold data (the paper's baselines) or "
    "on a mixture, and measure it on a gold test split. Runs are background jobs; results land on the Results "
    "page.": (
        "レビュー済みの合成データのスナップショット、ゴールドデータ (論文のベースライン)、またはその混合で生徒の "
        "BERT をファインチューニングし、ゴールドのテスト分割で評価します。実行はバックグラウンドのジョブで、"
        "結果は結果のページに表示されます。"
    ),
    "Training is measured on a gold split: import one (or load the demo project on Home) first.": (
        "学習の評価にはゴールドの分割を使います。先に取り込んでください (またはホームでデモプロジェクトを読み込んでください)。"
    ),
    "No synthetic data for this task yet: generate some first.": "このタスクの合成データはまだありません。先に生成してください。",
    "Synthetic dataset": "合成データセット",
    "snapshot {id} · {rows:,} rows · {relabeled} relabeled": "スナップショット {id} · {rows:,} 件 · ラベル修正 {relabeled} 件",
    "flagged left out": "フラグ付きは除外",
    "{flagged} flagged kept": "フラグ付き {flagged} 件を含む",
    "Reviewed snapshot": "レビュー済みのスナップショット",
    "a new snapshot now": "今すぐ新しいスナップショットを作る",
    "Training reads a frozen snapshot, with the review's relabels applied.": (
        "学習は、レビューでのラベル修正を反映した固定のスナップショットを読み込みます。"
    ),
    "Leave flagged examples out": "フラグ付きの事例を除外する",
    "Examples per class:": "クラスごとの事例数:",
    "Fine-tune BERT": "BERT のファインチューニング",
    "PROMPTING baseline": "PROMPTING ベースライン",
    "Training data": "学習データ",
    "Gold training split": "ゴールドの学習分割",
    "Examples per class": "クラスごとの事例数",
    "One model per size and seed (Figure 3).": "データ量とシードごとに1つのモデル (図3)。",
    "The paper: 5, drawn per seed.": "論文では5件で、シードごとに選び直します。",
    "Share of the gold training data": "ゴールドの学習データの割合",
    "Per class, at least one example (Kaddour & Liu: 1%).": "クラスごとに最低1件 (Kaddour & Liu: 1%)。",
    "Synthetic examples per class (0: all)": "クラスごとの合成事例数 (0: すべて)",
    "Evaluate on (gold)": "評価に使うゴールドの分割",
    "The paper evaluates on JGLUE's valid split.": "論文では JGLUE の valid 分割で評価しています。",
    "Model (Hugging Face name or local folder)": "モデル (Hugging Face の名前またはローカルフォルダ)",
    "Seeds": "シード数",
    "Epochs": "エポック数",
    "Hyperparameters (the paper's by default)": "ハイパーパラメータ (既定は論文の値)",
    "Batch size": "バッチサイズ",
    "Learning rate": "学習率",
    "Precision": "精度",
    "auto: bf16 (or fp16) on a GPU, fp32 on the CPU": "auto: GPU では bf16 (または fp16)、CPU では fp32",
    "Max steps per model (-1: all)": "モデルごとの最大ステップ数 (-1: すべて)",
    "Keep the weights": "重みを保存する",
    "About 440 MB per bert-base model; without them a model cannot be "
    "evaluated again, but its metrics and predictions stay.": (
        "bert-base のモデル1つあたり約 440 MB。保存しないとモデルを再評価できませんが、評価値と予測は残ります。"
    ),
    "AdamW (betas 0.9, 0.999), linear schedule with 10% warmup, label smoothing 0.1 for classes "
    "(none for a score), batches padded to their own longest example.": (
        "AdamW (betas 0.9, 0.999)、10% のウォームアップ付き線形スケジュール、クラス分類ではラベルスムージング 0.1"
        " (スコアの回帰ではなし)、バッチはそのバッチ内の最長の事例に合わせてパディングします。"
    ),
    "Training runs in a background job on this machine: on its GPU when there is one, else on the CPU (slow "
    "for bert-base). The model's weights and tokenizer must be on this machine, in a local folder or the "
    "Hugging Face cache: Start checks that first.": (
        "学習はこのマシン上のバックグラウンドのジョブで実行されます。GPU があれば GPU、なければ CPU を使います"
        " (bert-base では低速)。モデルの重みとトークナイザーがこのマシンのローカルフォルダか Hugging Face の"
        "キャッシュにある必要があります。開始時にまずそれを確認します。"
    ),
    "Start training": "学習を開始",
    "The training job could not start.": "学習ジョブを開始できませんでした。",
    "Started job {id}: {count} model(s).": "ジョブ {id} を開始しました: モデル {count} 個。",
    "The LLM itself labels the gold evaluation split — zero-shot, or with gold examples of every class in the "
    "prompt — through the task's annotation prompt. Answers that name no label count as wrong and are shown.": (
        "LLM 自身が、タスクのアノテーション用プロンプトでゴールドの評価分割にラベルを付けます"
        " (zero-shot、または全クラスのゴールド事例をプロンプトに入れて)。ラベルを答えなかった回答は不正解として"
        "数え、表示します。"
    ),
    "Seeds (runs)": "シード数 (実行回数)",
    "Examples per class in the prompt": "プロンプトに入れるクラスごとの事例数",
    "Few-shot examples from (gold)": "few-shot 事例の取得元 (ゴールド)",
    "About {calls:,} calls ({rows:,} examples x {runs} runs).": "約 {calls:,} 回の呼び出し ({rows:,} 件 x {runs} 回)。",
    "Start the baseline": "ベースラインを開始",
    "The baseline could not start.": "ベースラインを開始できませんでした。",
    "Started job {id}.": "ジョブ {id} を開始しました。",
    "Recent runs": "最近の実行",
    "{ok:,}/{target:,} answered": "{ok:,}/{target:,} 件回答済み",
    "starting": "開始中",
    "All jobs and logs": "すべてのジョブとログ",
    "All jobs, logs and cancel": "すべてのジョブ、ログ、キャンセル",
    # -- Results ---------------------------------------------------------------------------------------
    "Every trained model and prompting run, measured on a gold split, in the layout of the paper's Table 1: "
    "mean ± standard deviation over seeds, ★ the best per column. Scores are x 100 (accuracy in %, Spearman "
    "and MCC).": (
        "学習したすべてのモデルと PROMPTING の実行を、ゴールドの分割で評価して論文の表1の形で示します: "
        "シード間の平均 ± 標準偏差、★ は各列の最高値です。スコアは 100 倍の値です (正解率は %、スピアマン相関と MCC)。"
    ),
    "Show the paper's numbers for comparison": "比較のため論文の数値を表示",
    "No results yet. Fine-tune a model or run the PROMPTING baseline on the Train page (or with "
    "`python -m japagen_core train ...`); each run's score on the gold split appears here when its job ends.": (
        "結果はまだありません。学習のページ (または `python -m japagen_core train ...`) でモデルをファイン"
        "チューニングするか PROMPTING ベースラインを実行してください。各実行のゴールドの分割でのスコアは、"
        "ジョブの終了後にここに表示されます。"
    ),
    "Method": "手法",
    "Avg.": "平均",
    "Rows follow from the training data: gold data gives FINE-TUNING, a synthetic snapshot JAPAGEN with its "
    "generation setting, the LLM labelling the test split PROMPTING. A cell shows the newest run of its row and "
    "task (a scaling series: its largest size); Avg. only when a row has every column. Select a cell to see its "
    "runs.": (
        "行は学習データで決まります: ゴールドデータは FINE-TUNING、合成データのスナップショットはその生成設定の "
        "JAPAGEN、LLM によるテスト分割のラベル付けは PROMPTING です。セルにはその行とタスクの最新の実行"
        " (データ量の系列では最大のもの) を示し、平均はすべての列がそろった行にだけ表示します。"
        "セルを選ぶとその実行を表示します。"
    ),
    "Rows marked (paper) are the published numbers of Fujii & Katsumata.": "(paper) の行は Fujii & Katsumata の公表値です。",
    "Download {format}": "{format} でダウンロード",
    "Data scaling (Figure 3)": "データ量と性能 (図3)",
    "synthetic examples per class": "クラスごとの合成事例数",
    "score (x 100)": "スコア (x 100)",
    "examples per class": "クラスごとの事例数",
    "mean": "平均",
    "std": "標準偏差",
    "seeds": "シード数",
    "Mean over seeds with ± one standard deviation, per task and generation setting.": (
        "タスクと生成設定ごとの、シード間の平均 ± 標準偏差です。"
    ),
    "Runs behind a cell": "セルの元になった実行",
    "Selected in the table: {cell}": "表で選択中: {cell}",
    "Cell": "セル",
    "seed": "シード",
    "trained on": "学習データ",
    "snapshots": "スナップショット",
    "evaluated on": "評価データ",
    "{dataset} (snapshot {snapshot})": "{dataset} (スナップショット {snapshot})",
    "model / LLM": "モデル / LLM",
    "Answers that named no label (counted as wrong), per run: {counts}.": (
        "ラベルを答えなかった回答 (不正解として数える) の実行ごとの件数: {counts}。"
    ),
    "Older runs of this row and task (not in the table):": "この行とタスクの過去の実行 (表には含まれません):",
    "Settings and metrics": "設定と評価値",
    "Job log": "ジョブのログ",
    "(no log: the job folder is gone)": "(ログなし: ジョブのフォルダがありません)",
    # -- Review ----------------------------------------------------------------------------------------
    "Mislabeled": "誤ラベル",
    "Bad text": "不適切なテキスト",
    "Duplicate": "重複",
    "Off-task": "タスク外",
    "any": "すべて",
    "unreviewed": "未レビュー",
    "reviewed": "レビュー済み",
    "flagged": "フラグ付き",
    "not flagged": "フラグなし",
    "relabeled": "ラベル修正済み",
    "flag": "フラグ",
    "unflag": "フラグ解除",
    "relabel": "ラベル修正",
    "note": "メモ",
    "undo": "取り消し",
    "Reviewer": "レビュアー",
    "your name": "あなたの名前",
    "Every review action is recorded under it.": "レビューの操作はすべてこの名前で記録されます。",
    "Filters": "絞り込み",
    "Assigned label": "付与されたラベル",
    "Predicted label": "予測されたラベル",
    "Review state": "レビューの状態",
    "Minimum suspicion": "疑わしさの下限",
    "Flag": "フラグ",
    "Only cleanlab label issues": "cleanlab のラベル問題のみ",
    "Examples cleanlab's confident learning counts as mislabeled.": (
        "cleanlab の confident learning が誤ラベルと判定した事例です。"
    ),
    "Keyboard:": "キーボード:",
    "`{next}` next · `{previous}` previous": "`{next}` 次へ · `{previous}` 前へ",
    "(relabel)": "(ラベル修正)",
    "`{unflag}` unflag · `{undo}` undo your last action": "`{unflag}` フラグ解除 · `{undo}` 直前の操作を取り消し",
    "Example {number:,} of {total:,}": "事例 {number:,} / {total:,}",
    "Assigned": "付与されたラベル",
    "Now": "現在のラベル",
    "Classifier suggests": "分類器の提案",
    "no analysis yet": "分析なし",
    "The gold-trained classifier of the newest analysis.": "最新の分析でゴールドから学習した分類器です。",
    "Suspicion": "疑わしさ",
    "1 − cleanlab's label quality: near 1 means the assigned label is probably wrong.": (
        "1 − cleanlab のラベル品質。1 に近いほど付与されたラベルが誤っている可能性が高いことを表します。"
    ),
    "confidence {value}": "確信度 {value}",
    "cleanlab: label issue": "cleanlab: ラベルの問題",
    "KADG word: {word}": "KADG の単語: {word}",
    "setting: {setting}": "設定: {setting}",
    "flag: {flag}": "フラグ: {flag}",
    "none": "なし",
    "Note:": "メモ:",
    "when": "日時",
    "reviewer": "レビュアー",
    "action": "操作",
    "undo #{id}": "#{id} の取り消し",
    "old": "変更前",
    "new": "変更後",
    "reason": "理由",
    "One at a time": "1件ずつ",
    "Page": "ページ",
    "Drill-down": "ドリルダウン",
    "Export": "エクスポート",
    "View": "表示",
    "Nothing to review yet. Generate a run, import gold data, or load the demo project on Home.": (
        "レビューするものはまだありません。データを生成するか、ゴールドデータを取り込むか、ホームでデモプロジェクトを読み込んでください。"
    ),
    "Synthetic runs, or gold splits. The queue spans all chosen.": (
        "合成データの実行、またはゴールドの分割。キューは選んだものすべてにまたがります。"
    ),
    "Choose at least one dataset.": "データセットを1つ以上選んでください。",
    "Predictions from": "予測の出どころ",
    "the newest label-correctness analysis": "最新のラベル正解率の分析",
    "model {model}": "モデル {model}",
    "That review action was not applied.": "そのレビュー操作は反映されませんでした。",
    "{action} → {count} example(s)": "{action} → {count} 件",
    "Nothing changed (it already was so).": "変更はありません (すでにその状態です)。",
    "Nothing was undone.": "何も取り消していません。",
    "Undid your last action ({count} event(s)).": "直前の操作を取り消しました (イベント {count} 件)。",
    "You have nothing left to undo here.": "ここで取り消せる操作はもうありません。",
    "Set your name as **Reviewer** in the sidebar to review: every action is recorded under it.": (
        "レビューするには、サイドバーの **レビュアー** に名前を入力してください。操作はすべてその名前で記録されます。"
    ),
    "No classifier predictions for these datasets yet. Run an analysis with a gold training split "
    "(label correctness) on the Analysis page: its predictions drive the drill-down and the suspicion ranking.": (
        "これらのデータセットにはまだ分類器の予測がありません。分析のページでゴールドの学習分割を指定して分析"
        " (ラベル正解率) を実行してください。その予測がドリルダウンと疑わしさの順位付けに使われます。"
    ),
    "Rows: the label the data was given. Columns: what the gold-trained classifier predicts. "
    "Off the diagonal are the disagreements; click a cell to review exactly those examples.": (
        "行: データに付与されたラベル。列: ゴールドで学習した分類器の予測。対角線の外が不一致で、"
        "セルをクリックするとその事例だけをレビューできます。"
    ),
    "assigned ↓ / predicted →": "付与 ↓ / 予測 →",
    "Or choose a cell": "またはセルを選ぶ",
    "Review these": "これらをレビュー",
    "A snapshot freezes a dataset as reviewed: relabels applied, flagged examples kept or left out. "
    "Snapshots are numbered and never change; training refers to them.": (
        "スナップショットは、レビューしたデータセットをその時点で固定したものです (ラベル修正を反映し、"
        "フラグ付きの事例は含めるか除外)。スナップショットには番号が付き、変更されることはなく、学習はこれを参照します。"
    ),
    "Leave out flagged examples": "フラグ付きの事例を除外する",
    "Create snapshot": "スナップショットを作成",
    "The snapshot was not made.": "スナップショットを作成できませんでした。",
    "Snapshot {id}: {rows:,} rows, {relabeled:,} relabeled.": "スナップショット {id}: {rows:,} 件、ラベル修正 {relabeled:,} 件。",
    "Set your name as Reviewer in the sidebar to make a snapshot.": (
        "スナップショットを作るには、サイドバーのレビュアーに名前を入力してください。"
    ),
    "No snapshot of this dataset yet.": "このデータセットのスナップショットはまだありません。",
    "snapshot": "スナップショット",
    "made by": "作成者",
    "made at": "作成日時",
    "Download snapshot": "ダウンロードするスナップショット",
    "(gold format)": "(ゴールドデータ形式)",
    "No classifier predictions yet: run label correctness on the Analysis page to rank by suspicion.": (
        "分類器の予測はまだありません。疑わしさで並べるには、分析のページでラベル正解率を実行してください。"
    ),
    "Previous": "前へ",
    "Next": "次へ",
    "Score": "スコア",
    "Set score": "スコアを設定",
    "Unflag": "フラグ解除",
    "Undo": "取り消し",
    "Note": "メモ",
    "why, for the record": "理由 (記録用)",
    "Save note": "メモを保存",
    "History of this example ({count} event(s))": "この事例の履歴 (イベント {count} 件)",
    "No review action yet.": "レビュー操作はまだありません。",
    "suspicion": "疑わしさ",
    "now": "現在",
    "suggested": "提案",
    "{total:,} matching examples.": "該当する事例 {total:,} 件。",
    "{total:,} matching examples. Select rows to act on them, or act on every matching row below.": (
        "該当する事例 {total:,} 件。行を選んで操作するか、下で該当するすべての行を操作できます。"
    ),
    "Relabel as {label}": "{label} にラベル修正",
    "Flag as {flag}": "{flag} としてフラグ",
    "Action": "操作",
    "Apply to {count} selected": "選択した {count} 件に適用",
    "Apply to all {total:,} matching rows…": "該当する {total:,} 件すべてに適用…",
    "{action}: this changes **{count:,}** examples. Undo reverts it as one action.": (
        "{action}: **{count:,}** 件の事例が変わります。取り消すと1回の操作としてまとめて元に戻ります。"
    ),
    "Yes, apply to {count:,} rows": "はい、{count:,} 件に適用します",
    "Undo my last action": "直前の操作を取り消す",
    # -- Jobs ------------------------------------------------------------------------------------------
    "Generation, annotation, analysis and training run in the background. They survive a reload and an app restart.": (
        "生成、アノテーション、分析、学習はバックグラウンドで実行され、再読み込みやアプリの再起動後も続きます。"
    ),
    "generate": "生成",
    "annotate": "アノテーション",
    "analysis": "分析",
    "train": "学習",
    "prompting": "PROMPTING",
    "teacher tuning (OpenAI)": "教師モデルのチューニング (OpenAI)",
    "teacher tuning (LoRA)": "教師モデルのチューニング (LoRA)",
    "running": "実行中",
    "queued": "待機中",
    "succeeded": "成功",
    "failed": "失敗",
    "cancelled": "キャンセル済み",
    "interrupted": "中断",
    "steps": "ステップ",
    "texts": "テキスト",
    "{minutes} min {seconds} s": "{minutes} 分 {seconds} 秒",
    "{seconds} s": "{seconds} 秒",
    "{count} model(s)": "モデル {count} 個",
    "{shots}-shot · {model} on {dataset}": "{shots}-shot · {model} · {dataset}",
    "of {dataset}": "{dataset} と比較",
    "labels {dataset}": "{dataset} にラベル付け",
    "Step": "ステップ",
    "Loss": "損失",
    "Steps/s": "ステップ/秒",
    "started {time} UTC": "{time} UTC に開始",
    "ETA {duration}": "残り時間 {duration}",
    "Rate": "速度",
    "ETA": "残り時間",
    "Failed answers": "失敗した回答",
    "Cost": "コスト",
    "Failures by reason:": "理由別の失敗:",
    "LLM calls: {retries} retries · {timeouts} timeouts · {connection_errors} connection errors · "
    "{rate_limited} rate-limited (429) · {server_errors} server errors (5xx)": "LLM 呼び出し: 再試行 {retries} 回 · タイムアウト {timeouts} 回 · 接続エラー {connection_errors} 回 · "
    "レート制限 (429) {rate_limited} 回 · サーバーエラー (5xx) {server_errors} 回",
    "{count} call(s) were cut off by a stop: a provider may still bill them (their tokens are unknown).": "{count} 件の呼び出しが停止で中断されました。プロバイダーが課金している場合があります（トークン数は不明）。",
    "The job failed.": "ジョブが失敗しました。",
    "Cancel": "キャンセル",
    "Resume": "再開",
    "The job could not resume.": "ジョブを再開できませんでした。",
    "Browse the result": "結果を閲覧",
    "See the results": "結果を見る",
    "See the analysis": "分析を見る",
    "See the teacher": "教師モデルを見る",
    "queued, position {position}": "待機中 ({position} 番目)",
    "Resume would not help:": "再開しても解決しません:",
    "models": "モデル",
    "answers": "回答",
    "Log": "ログ",
    "No jobs yet. Start one on the Generate page, or with `python -m japagen_core generate`.": (
        "ジョブはまだありません。生成のページ、または `python -m japagen_core generate` で開始してください。"
    ),
    "{running} running · {total} in all · refreshes every second": "実行中 {running} 件 · 全 {total} 件 · 1秒ごとに更新",
    # -- Word lists ------------------------------------------------------------------------------------
    "KADG puts one word drawn from the task's word list into each prompt, for diversity. The list you save "
    "here is what the next generation uses, and every generated example records the list version it came from.": (
        "KADG は多様性のため、タスクの単語リストから選んだ単語を1つ各プロンプトに入れます。ここで保存したリストが"
        "次の生成で使われ、生成された事例にはどのバージョンのリストから作られたかが記録されます。"
    ),
    "No task has a KADG word list yet. A prompt spec (`prompts/<task>.yaml`) names one with "
    "`kadg: {text: ..., words: <name>}`, and its first version is the file `prompts/kadg/<name>.txt`.": (
        "KADG の単語リストを持つタスクはまだありません。プロンプト定義 (`prompts/<task>.yaml`) の "
        "`kadg: {text: ..., words: <name>}` でリストを指定し、その最初のバージョンはファイル "
        "`prompts/kadg/<name>.txt` です。"
    ),
    "The word list {name!r} cannot be read.": "単語リスト {name!r} を読み込めません。",
    "The word list {name!r} cannot be read; saving a new list here replaces it.": (
        "単語リスト {name!r} を読み込めません。ここで新しいリストを保存すると置き換わります。"
    ),
    "the shipped file": "同梱のファイル",
    "saved {time} UTC": "{time} UTC に保存",
    "List `{name}` · version {version} ({origin}) · {count} words · sha {sha}": (
        "リスト `{name}` · バージョン {version} ({origin}) · {count} 語 · sha {sha}"
    ),
    "also used by {tasks}": "{tasks} でも使用",
    "Not saved: fix these words first.": "保存していません: 先にこれらの単語を直してください。",
    "Not saved.": "保存していません。",
    "Saved version {version} ({count} words). The next generation uses it.": (
        "バージョン {version} ({count} 語) を保存しました。次の生成からこのリストが使われます。"
    ),
    "Not reverted.": "元に戻していません。",
    "Version {new} now has the words of version {old}. The next generation uses it.": (
        "バージョン {new} をバージョン {old} の単語で作成しました。次の生成からこのリストが使われます。"
    ),
    "Current list": "現在のリスト",
    "Edit": "編集",
    "One word per line": "1行に1語",
    "Add a line to add a word, delete a line to remove one. Empty lines, repeated words and spaces "
    "around a word are refused. The order matters too: it decides which word a seeded run draws.": (
        "行を足すと単語を追加、行を消すと削除します。空行、重複した単語、前後に空白のある単語は受け付けません。"
        "順序にも意味があり、シード付きの実行でどの単語が選ばれるかが決まります。"
    ),
    "{count} problem(s); nothing can be saved until they are fixed:": "問題が {count} 件あります。直すまで保存できません:",
    "Changes to save ({count} words):": "保存する変更 ({count} 語):",
    "No changes yet.": "まだ変更はありません。",
    "Your name": "あなたの名前",
    "Recorded with the version (the Review page sets it too).": (
        "バージョンとともに記録されます (レビューのページでも設定されます)。"
    ),
    "Note (why this change)": "メモ (変更の理由)",
    "Save as a new version": "新しいバージョンとして保存",
    "Enter your name to save.": "保存するには名前を入力してください。",
    "Versions": "バージョン",
    "No version yet: save the first one above.": "バージョンはまだありません。上で最初のバージョンを保存してください。",
    "version": "バージョン",
    "current": "現在",
    "words": "語数",
    "author": "作成者",
    "saved at (UTC)": "保存日時 (UTC)",
    "Compare two versions": "2つのバージョンを比較",
    "From version": "比較元のバージョン",
    "To version": "比較先のバージョン",
    "Revert": "元に戻す",
    "Make this version current again": "このバージョンを再び現在のものにする",
    "What changes from the current version {base} to the words of version {target}:": (
        "現在のバージョン {base} からバージョン {target} の単語への変更点:"
    ),
    "I understand that generation runs started from now on use the words of version {target}": (
        "今後開始する生成ではバージョン {target} の単語が使われることを理解しました"
    ),
    "Revert to version {target}": "バージョン {target} に戻す",
    "Adds a new version with those words; no version is deleted. Enter your name first.": (
        "その単語で新しいバージョンを追加します。バージョンは削除されません。先に名前を入力してください。"
    ),
    "Download the current list (.txt)": "現在のリストをダウンロード (.txt)",
    "To ship it as prompts/kadg/{name}.txt": "prompts/kadg/{name}.txt として同梱する場合に",
    "Prompt preview": "プロンプトのプレビュー",
    "Word": "単語",
    "Label": "ラベル",
    "Per-word statistics of past runs": "過去の実行の単語ごとの統計",
    "Counting and scoring...": "集計・評価しています...",
    "The statistics cannot be computed right now.": "統計を現在計算できません。",
    "No KADG run of {task} yet: per-word counts, Self-BLEU and label correctness appear here after one.": (
        "{task} の KADG の実行はまだありません。実行すると、単語ごとの件数、Self-BLEU、ラベル正解率がここに表示されます。"
    ),
    "Generate with KADG": "KADG で生成する",
    "word": "単語",
    "in current list": "現在のリストにある",
    "runs": "実行数",
    "label correct": "ラベル正解率",
    "checked": "確認済み",
    "Lower is more diverse": "低いほど多様",
    "Share of the word's examples whose label the gold-trained classifier agrees with": (
        "その単語の事例のうち、ゴールドで学習した分類器がラベルに同意した割合"
    ),
    "Examples with a prediction from a label-correctness analysis": "ラベル正解率の分析で予測が付いた事例の数",
    "Self-BLEU of a seeded sample of up to {count} texts per word (lower is more diverse): {signature}. "
    "Label correctness comes from each run's latest label-correctness analysis (run one on the Analysis page); "
    "empty where there is none.": (
        "単語ごとに最大 {count} 件をシード付きで抽出した Self-BLEU (低いほど多様): {signature}。"
        "ラベル正解率は各実行の最新のラベル正解率の分析によるもので (分析のページで実行)、"
        "分析がない場合は空欄です。"
    ),
    "no word had two texts": "2件以上のテキストを持つ単語なし",
    "in the current list": "現在のリストにある",
    # -- Overview, Example cards, navigation sections ---------------------------------------------------
    "PNG": "PNG",
    "SVG": "SVG",
    "Data": "データ",
    "Make data": "データを作る",
    "Check and train": "確認と学習",
    "Overview": "概要",
    "Example cards": "事例カード",
    "One block per task. Diversity: Self-BLEU, lower is more diverse. Closeness to gold: weighted Jaccard of token frequencies, 1 is identical. Label correctness: how often a classifier trained on gold data agrees with the labels.": "タスクごとに1ブロック。多様性: Self-BLEU(低いほど多様)。ゴールドへの近さ: トークン頻度の重み付きJaccard(1で同一)。ラベル正解率: ゴールドデータで学習した分類器がラベルに同意する割合。",
    "Results (Table 1)": "結果(表1)",
    "Jobs running now": "実行中のジョブ",
    "Download the report (one HTML file)": "レポートをダウンロード(HTMLファイル1つ)",
    "No data yet. Load the demo project on Home, or import gold data, to see results here.": "まだデータがありません。ホームでデモプロジェクトを読み込むか、ゴールドデータを取り込むと、ここに結果が表示されます。",
    "Gathering the results…": "結果を集計しています…",
    "No results yet. Fine-tune a model on the Train page; its scores appear here and on Results.": "まだ結果がありません。学習ページでモデルをファインチューニングすると、スコアがここと結果ページに表示されます。",
    "Mean ± standard deviation over seeds; ★ marks the best own result per column.": "シード間の平均 ± 標準偏差。★は各列で最良の自前の結果です。",
    "No job is running.": "実行中のジョブはありません。",
    "Synthetic examples": "合成事例",
    "Reviewed": "レビュー済み",
    "Diversity (Self-BLEU)": "多様性(Self-BLEU)",
    "Closeness to gold": "ゴールドへの近さ",
    "Label correctness": "ラベル正解率",
    "All results and exports": "すべての結果とエクスポート",
    "Follow them on Jobs": "ジョブページで進捗を見る",
    "Share of synthetic examples a person has reviewed (flagged, relabeled or noted).": "人がレビューした(フラグ・ラベル修正・メモ)合成事例の割合。",
    "Lower is more diverse: how much each text repeats the others.": "低いほど多様: 各テキストが他のテキストをどれだけ繰り返しているか。",
    "Weighted Jaccard of token frequencies against the gold data: 1 is the same distribution.": "ゴールドデータとのトークン頻度の重み付きJaccard: 1は同じ分布です。",
    "How often a classifier trained on gold data predicts the label the example carries.": "ゴールドデータで学習した分類器が、事例に付いたラベルを予測する割合。",
    "**Best model:** {row}, {score} on gold test data.": "**最良のモデル:** {row}、ゴールドのテストデータで {score}。",
    "No model trained yet: the Train page fine-tunes one and the Results page compares it.": "まだ学習済みモデルがありません。学習ページでファインチューニングし、結果ページで比較できます。",
    "The paper's results for this task: {paper}": "このタスクの論文の結果: {paper}",
    "Examples per label": "ラベルごとの事例数",
    "A few examples per label, with the setting, KADG word and model that made them. Pinned cards come first; the rest are drawn at random (draw again for others).": "ラベルごとに数件の事例を、それを作った設定・KADG単語・モデルとともに表示します。ピン留めしたカードが先に並び、残りは無作為に選ばれます(「もう一度選ぶ」で別の事例)。",
    "Per label": "ラベルごと",
    "Draw again": "もう一度選ぶ",
    "No data yet. Load the demo project on Home, or generate a run.": "まだデータがありません。ホームでデモプロジェクトを読み込むか、データを生成してください。",
    "This task has no examples to show yet.": "このタスクにはまだ表示できる事例がありません。",
    "No synthetic data for this task yet: these cards show gold examples.": "このタスクにはまだ合成データがありません。ゴールドの事例を表示しています。",
    "Set your name as Reviewer on the Review page to pin cards.": "カードをピン留めするには、レビューページでレビュアー名を設定してください。",
    "relabeled from {label}": "{label} からラベル修正",
    "Pinned by {name}": "{name} がピン留め",
    "Unpin": "ピン留めを外す",
    "The card was not changed.": "カードは変更されませんでした。",
    "Pin to showcase": "ショーケースにピン留め",
    # -- teachers: pages/teachers.py, app/teacher_picker.py (the Generate page's "Who writes") -----------
    "A model behind an API (OpenAI, vLLM, Ollama, ...)": "API 経由のモデル (OpenAI, vLLM, Ollama など)",
    "A local model, run inside the job": "ローカルモデル (ジョブの中で実行)",
    "Who writes": "書き手",
    "Teacher: {title}": "教師モデル: {title}",
    "Teachers are LLMs fine-tuned on gold examples on the Teachers page.": "教師モデルは、教師モデルのページでゴールドの事例によりファインチューニングした LLM です。",
    "Sequences per batch": "バッチあたりの系列数",
    "Put a local model folder (or a Hugging Face name in the local cache) into Model: it runs inside the job with transformers, on the GPU when there is one. Base URL is not used. It needs a chat model.": "「モデル」にローカルモデルのフォルダ (またはローカルキャッシュにある Hugging Face の名前) を入力してください。ジョブの中で transformers により実行され、GPU があれば GPU を使います。ベース URL は使いません。チャットモデルが必要です。",
    "Local teacher: {base} with the LoRA adapter `{adapter}` (sha256 {sha}), tuned on {examples} conversations ({data}). It runs inside the job; no key is needed.": "ローカルの教師モデル: {base} と LoRA アダプタ `{adapter}` (sha256 {sha})。{examples} 件の会話 ({data}) で学習済み。ジョブの中で実行するため、キーは不要です。",
    "Fine-tuned `{model}` from {base}, tuned on {examples} conversations ({data}). Every example records it.": "{base} からファインチューニングした `{model}`。{examples} 件の会話 ({data}) で学習済み。すべての事例に記録されます。",
    "Model differs from the teacher's ({model}): the run uses the Model field.": "モデルが教師モデルのもの ({model}) と異なります。実行では「モデル」欄の値を使います。",
    "No fine-tuned teacher for this task yet.": "このタスクにはまだファインチューニングした教師モデルがありません。",
    "Answers the local model generates at once (more on a GPU).": "ローカルモデルが一度に生成する回答の数 (GPU ではより多く)。",
    "Tune a teacher": "教師モデルを学習する",
    "Gold few-shot (K per class)": "ゴールド few-shot (クラスごとに K 件)",
    "A reviewed snapshot": "レビュー済みのスナップショット",
    "Generate examples (the gold text is the answer)": "事例を生成する (ゴールドのテキストが回答)",
    "Annotate texts (the gold label is the answer)": "テキストにラベルを付ける (ゴールドのラベルが回答)",
    "OpenAI fine-tuning API": "OpenAI ファインチューニング API",
    "Local model + LoRA (peft)": "ローカルモデル + LoRA (peft)",
    "Fine-tune the LLM that writes the data on a handful of gold examples before it generates (Kaddour & Liu): the same prompts the Generate page sends, with the gold text (or label) as the answer. A tuned teacher is then a choice on the Generate page, and every example it writes records it.": "データを書く LLM を、生成の前に少数のゴールドの事例でファインチューニングします (Kaddour & Liu)。生成ページが送るのと同じプロンプトを入力、ゴールドのテキスト (またはラベル) を回答とします。学習した教師モデルは生成ページで選べるようになり、それが書いたすべての事例に記録されます。",
    "The teacher will": "教師モデルの用途",
    "From": "データ元",
    "Tune with": "学習の方法",
    "Conversations": "会話数",
    "Tokens per epoch (estimate)": "エポックあたりのトークン数 (推定)",
    "Training tokens (estimate)": "学習トークン数 (推定)",
    "Token counts are estimates without a tokenizer: about 1 token per Japanese character, 4 ASCII characters per token and 4 per message.": "トークン数はトークナイザを使わない推定です: 日本語1文字あたり約1トークン、ASCII 4文字あたり1トークン、メッセージごとに4トークン。",
    "Answers per label: {answers}": "ラベルごとの回答数: {answers}",
    "Download the training file (JSON Lines)": "学習ファイルをダウンロード (JSON Lines)",
    "A teacher is tuned on gold examples: import a gold split (or load the demo project on Home) first.": "教師モデルはゴールドの事例で学習します。先にゴールドの分割を取り込んでください (またはホームでデモプロジェクトを読み込んでください)。",
    "Gold split": "ゴールドの分割",
    "Seed s draws the same K examples as a student's gold few-shot run with seed s.": "シード s は、シード s の生徒モデルのゴールド few-shot 学習と同じ K 件を選びます。",
    "snapshot {id} of {dataset} · {rows:,} rows · {created}": "{dataset} のスナップショット {id} · {rows:,} 行 · {created}",
    "Base model": "ベースモデル",
    "Local model folder (or Hugging Face name in the cache)": "ローカルモデルのフォルダ (またはキャッシュにある Hugging Face の名前)",
    "LoRA runs in a background job on this machine: on its GPU when there is one (bf16), else on the CPU.": "LoRA はこのマシンのバックグラウンドジョブで実行されます。GPU があれば GPU (bf16)、なければ CPU を使います。",
    "free (local)": "無料 (ローカル)",
    "Cost: training tokens x the price per 1M training tokens ({models} known).": "コスト: 学習トークン数 x 学習トークン100万あたりの価格 (価格が分かるモデル: {models})。",
    "The first conversations of the training file": "学習ファイルの最初の会話",
    "Start fine-tuning": "ファインチューニングを開始",
    "Teachers of this task": "このタスクの教師モデル",
    "Examples per class (K)": "クラスごとの事例数 (K)",
    "No snapshot of this task yet: make one on the Review page (Export), or use gold data.": "このタスクのスナップショットはまだありません。レビューページ (エクスポート) で作成するか、ゴールドデータを使ってください。",
    "Give the folder of a local chat model (config, weights, tokenizer with a chat template).": "ローカルのチャットモデルのフォルダ (設定、重み、チャットテンプレート付きのトークナイザ) を指定してください。",
    "This teacher cannot be tuned with these settings.": "この設定では教師モデルを学習できません。",
    "**Conversation {number}**": "**会話 {number}**",
    "Started job {job} for teacher {teacher}. It runs in the background.": "教師モデル {teacher} のジョブ {job} を開始しました。バックグラウンドで実行されます。",
    "None yet.": "まだありません。",
    "Seed of the draw": "抽出のシード",
    "Snapshot": "スナップショット",
    "LoRA r": "LoRA r",
    "LoRA alpha": "LoRA alpha",
    "No API key is configured: set OPENAI_API_KEY (or .streamlit/secrets.toml) and restart.": "API キーが設定されていません。OPENAI_API_KEY (または .streamlit/secrets.toml) を設定して再起動してください。",
    "The tuning job could not start.": "学習ジョブを開始できませんでした。",
    "{backend} · {base} · {purpose} · {data} · {examples} conversations · {created}": "{backend} · {base} · {purpose} · {data} · 会話 {examples} 件 · {created}",
    "Tuning failed.": "学習に失敗しました。",
    "Generate with it": "これで生成する",
    "Pinned examples are shown first on the Example cards page and in the report.": "ピン留めした事例は、事例カードのページとレポートで最初に表示されます。",
    # -- Generate: presets and the paper's protocols ----------------------------------------------------
    "Prompts": "プロンプト",
    "japagen's own prompts (prompts/<task>.yaml): rewritten from the paper; see the README for how.": "japagen 独自のプロンプト (prompts/<task>.yaml)。論文をもとに書き直したもので、違いは README にあります。",
    "The JAPAGEN authors' prompt configs, word for word (imported from their config folder).": "JAPAGEN の著者によるプロンプト設定そのまま (著者の config フォルダから取り込んだもの)。",
    "Import the authors' prompt configs (paper preset)": "著者のプロンプト設定を取り込む (paper プリセット)",
    "Folder of the authors' configs (<task>.json, <task>*.json)": "著者の設定のフォルダ (<task>.json, <task>*.json)",
    "The configs could not be imported.": "設定を取り込めませんでした。",
    "Imported a paper preset for {n} task(s).": "{n} 個のタスクの paper プリセットを取り込みました。",
    "No paper preset for {task} yet: import the authors' configs above (or with `python -m japagen_core prompts import-official DIR`).": "{task} の paper プリセットはまだありません。上で著者の設定を取り込んでください (または `python -m japagen_core prompts import-official DIR`)。",
    "The paper used gpt-3.5-turbo-0613.": "論文では gpt-3.5-turbo-0613 が使われました。",
    "Few-shot examples": "Few-shot の事例",
    "one per class for the whole run (the paper's)": "クラスごとに 1 件を実行全体で使う (論文の方式)",
    "a new one for every call": "呼び出しごとに新しく選ぶ",
    "Pairs": "文の組",
    "a first sentence per pair, written for its label (the paper's)": "組ごとに、そのラベルのために 1 文目を生成する (論文の方式)",
    "one first sentence shared by all labels (contrastive)": "1 文目をすべてのラベルで共有する (対照的)",
    "Prompt spec {file} ({preset} preset), version {version}.": "プロンプト定義 {file} ({preset} プリセット)、バージョン {version}。",
    "japagen shows its data only to this machine, but this server listens on {address}. Start it with scripts/run, or with --server.address 127.0.0.1; to serve other machines on purpose, set JAPAGEN_ALLOW_REMOTE=1.": "japagen はこのマシンにだけデータを表示しますが、このサーバーは {address} で待ち受けています。scripts/run で、または --server.address 127.0.0.1 を付けて起動してください。意図して他のマシンに公開するときは JAPAGEN_ALLOW_REMOTE=1 を設定してください。",
    "This base URL is plain http on another machine: the API key would travel unencrypted.": "このベース URL は別のマシンへの平文の http です。API キーが暗号化されずに送られます。",
    "Send the API key unencrypted to {host} anyway": "それでも API キーを暗号化せずに {host} へ送る",
    "Waiting for the store ({seconds} s): another process (an import or a job saving its results) is writing to it.": "ストアの空きを待っています ({seconds} 秒): 別のプロセス (取り込み、または結果を保存中のジョブ) が書き込んでいます。",
    "Agreement": "一致度",
    "Undid: {what}": "取り消しました: {what}",
    "{done:,} of {total:,} reviewed": "{total:,} 件中 {done:,} 件レビュー済み",
    "Columns": "列",
    "Cohen's kappa (scikit-learn) over the examples both reviewers labelled: 1 is full agreement, 0 is what chance would give. Per label: one label against the rest. – : undefined (one answer only).": "両方のレビュアーがラベルを付けた事例での Cohen の κ (scikit-learn): 1 は完全一致、0 は偶然と同程度。ラベルごと: そのラベルか否かの 2 値。– : 定義できない (答えが 1 種類だけ)。",
    "Reviewer pair": "レビュアーの組",
    "Review these {count:,} disagreements": "この {count:,} 件の不一致をレビュー",
    "Choose and order the grid's columns (the order you pick them in).": "表の列を選び、並べます (選んだ順)。",
    "{total:,} matching examples": "該当 {total:,} 件",
    "Select rows to act on them, or act on every matching row below.": "行を選んで操作するか、下で該当する全行に操作します。",
    "Agreement (Cohen's kappa) is measured for label tasks; this task is scored.": "一致度 (Cohen の κ) はラベルのタスクで測ります。このタスクはスコアです。",
    "No two reviewers have labelled the same examples yet. When two reviewers each press a label for the same examples (a label that agrees counts too), their agreement shows here.": "同じ事例にラベルを付けたレビュアーがまだ 2 人いません。2 人が同じ事例にそれぞれラベルを付けると (同じラベルでも記録されます)、ここに一致度が出ます。",
    "These two agree on every example both labelled.": "この 2 人は、両方がラベルを付けたすべての事例で一致しています。",
    "Reviewing the disagreements of {pair} ({count:,} examples).": "{pair} の不一致をレビュー中 ({count:,} 件)。",
    "Back to the queue": "キューに戻る",
    "reviewers": "レビュアー",
    "examples both labelled": "両方がラベル付けした事例",
    "agreed": "一致",
    "observed agreement": "一致率",
    "Cohen's kappa": "Cohen の κ",
    "Kappa per label": "ラベルごとの κ",
    "Who said what (rows: {first}, columns: {second})": "誰が何と付けたか (行: {first}、列: {second})",
    "Score for example {number:,}": "事例 {number:,} のスコア",
    "Unpin example {number:,}": "事例 {number:,} のピンを外す",
    "Pin example {number:,} to showcase": "事例 {number:,} をショーケースにピン留め",
    "Note on example {number:,}": "事例 {number:,} のメモ",
    "Also undoes actions from before this page was opened.": "このページを開く前の操作も取り消せます。",
    "saving {count:,}…": "{count:,} 件を保存中…",
    "all saved": "保存済み",
    "Loading…": "読み込み中…",
    "relabeled as {label}": "{label} に付け替え",
    "flagged as {flag}": "{flag} のフラグ",
    "unflagged": "フラグ解除",
    "Example {number}: {what}.": "事例 {number}: {what}。",
    "Undid on example {number}: {what}.": "事例 {number} で取り消し: {what}。",
    "Nothing to undo in this session (older actions: “Undo my last action” below).": "この画面で取り消せる操作はありません (それ以前の操作は下の「直前の操作を取り消す」で)。",
    "Nothing was saved: set your name as Reviewer in the sidebar (read-only: nothing is saved).": "保存されていません: サイドバーでレビュアー名を設定してください (読み取り専用では何も保存されません)。",
    "History of example {number:,} ({id})": "事例 {number:,} の履歴 ({id})",
    "Not saved:": "保存されなかった操作:",
    "previous": "前へ",
    "next": "次へ",
    "bulk action": "一括操作",
    "undid #{id} ({what})": "#{id} を取り消し ({what})",
    "relabeled {old} → {new}": "{old} → {new} に付け替え",
    "removed the flag {flag}": "{flag} のフラグを解除",
    "imported from {tool}": "{tool} から取り込み",
    "undid event #{id}": "イベント #{id} を取り消し",
    "confirmed {label}": "{label} を確認",
    "flagged as {flag} (was {old})": "{flag} のフラグ (以前は {old})",
    "wrote a note": "メモを記入",
    "cleared the note": "メモを消去",
    "what": "内容",
    "why": "理由",
    " and {count:,} more": " ほか {count:,} 件",
    # -- stable links, readable charts, pages that remember (issue 17) -----------------------------------
    "See the results per task on the Overview": "タスクごとの結果を概要で見る",
    "Split guessed from the file name: {split}": "ファイル名から推定した分割: {split}",
    "{rows:,} rows read": "{rows:,} 行を読み込みました",
    "{done:,} of {total:,} rows checked": "{total:,} 行中 {done:,} 行を確認しました",
    "Writing {rows:,} rows to the store": "{rows:,} 行をストアに書き込んでいます",
    "{rows:,} rows imported": "{rows:,} 行を取り込みました",
    "Every older version has the words of the current one: there is nothing to revert to.": "どの古いバージョンも現在と同じ単語です。戻せるバージョンはありません。",
    "API key: none is sent; the model runs inside the job on this machine.": "API キー: 送りません。モデルはこのマシンのジョブ内で動きます。",
    "API key: none is configured, so nothing is sent.": "API キー: 設定されていないため、何も送りません。",
    "OpenAI": "OpenAI",
    "API key: sends `OPENAI_API_KEY` from the environment to {server}. It is read when the job starts and never stored.": "API キー: 環境変数の `OPENAI_API_KEY` を {server} に送ります。ジョブの開始時に読み込まれ、保存されることはありません。",
    "API key: sends the key in `.streamlit/secrets.toml` to {server}. It is read when the job starts and never stored.": "API キー: `.streamlit/secrets.toml` のキーを {server} に送ります。ジョブの開始時に読み込まれ、保存されることはありません。",
    "API key: sends a dummy key to the local server {server}: no key is configured, and a local server needs none.": "API キー: ローカルサーバー {server} にダミーのキーを送ります。キーは設定されておらず、ローカルサーバーには不要です。",
    "Confusion matrix": "混同行列",
    "No model trained on this data.": "このデータで学習したモデルはありません。",
    "No model results in this store.": "このストアにはモデルの結果がありません。",
    "For other tools: a ZIP of the folder they load (the same files as the export command writes).": "他のツール向け: そのツールが読み込むフォルダの ZIP (export コマンドが書き出すものと同じファイル)。",
    "Hugging Face dataset (ZIP)": "Hugging Face データセット (ZIP)",
    "Label Studio (ZIP)": "Label Studio (ZIP)",
    "Argilla (ZIP)": "Argilla (ZIP)",
    "{tool} export supports class labels only.": "{tool} への書き出しはクラスラベルのタスクのみ対応しています。",
    "(score)": "(スコア)",
    "scored {score}": "スコアを {score} に設定",
}
