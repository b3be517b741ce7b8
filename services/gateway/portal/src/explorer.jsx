// The partner explorer: GraphiQL with the explorer plugin, queries over POST /graphql and
// subscriptions over graphql-ws on the same path, all from this gateway's own origin.
import React, { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { explorerPlugin } from '@graphiql/plugin-explorer';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';
import { parse } from 'graphql';
import 'graphiql/style.css';
import '@graphiql/plugin-explorer/style.css';
import './explorer.css';

// sessionStorage, not localStorage: the key lives as long as this tab and is never shared with
// other tabs or written to disk beyond the browser's session; it never goes into a URL.
const KEY_SLOT = 'mpehub.partnerKey';
const explorer = explorerPlugin({ showAttribution: false });

function fetcherFor(key) {
  const ws = new URL('/graphql', window.location.href);
  ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
  const wsClient = createClient({ url: ws.toString(), connectionParams: { 'X-API-Key': key } });
  const fetcher = createGraphiQLFetcher({
    url: new URL('/graphql', window.location.href).toString(),
    headers: { 'X-API-Key': key },
    wsClient,
  });
  // The toolkit sends a subscription over the socket only if it has the parsed document, which
  // the editor hands over a moment after a change; parse it here so a quick Run goes right too.
  const run = (params, options) => {
    let documentAST = options?.documentAST;
    try {
      documentAST = parse(params.query);
    } catch {
      // The server reports the syntax error.
    }
    return fetcher(params, { ...options, documentAST });
  };
  // Forgetting or changing the key ends the socket opened with it, and its subscriptions.
  run.dispose = () => wsClient.dispose();
  return run;
}

function KeyForm({ onKey }) {
  const [value, setValue] = useState('');
  const submit = (event) => {
    event.preventDefault();
    const key = value.trim();
    if (key) onKey(key);
  };
  return (
    <form className="mpe-key" onSubmit={submit} autoComplete="off">
      <h1>mpehub GraphQL explorer · 탐색기</h1>
      <label htmlFor="mpe-key-input">API key · API 키</label>
      <input id="mpe-key-input" name="mpe-key" type="password" placeholder="mpe_…" value={value}
        onChange={(e) => setValue(e.target.value)} autoFocus />
      <button type="submit">Use this key · 이 키 사용</button>
      <p className="mpe-note">
        The key is kept in this tab&apos;s sessionStorage only and sent as the <code>X-API-Key</code> header;
        it never goes into a URL. Closing the tab forgets it.
        <br />
        키는 이 탭의 sessionStorage에만 보관되고 <code>X-API-Key</code> 헤더로만 전송되며 URL에 담기지 않습니다.
        탭을 닫으면 지워집니다.
      </p>
      <p className="mpe-note"><a href="/docs/">Reference and guides · 참조 문서와 안내서</a></p>
    </form>
  );
}

function App() {
  const [key, setKey] = useState(() => window.sessionStorage.getItem(KEY_SLOT));
  const [fetcher, setFetcher] = useState(() => (key ? fetcherFor(key) : null));
  const use = (next) => {
    fetcher?.dispose();
    window.sessionStorage.setItem(KEY_SLOT, next);
    setKey(next);
    setFetcher(() => fetcherFor(next));
  };
  const forget = () => {
    fetcher?.dispose();
    window.sessionStorage.removeItem(KEY_SLOT);
    setKey(null);
    setFetcher(null);
  };
  if (!key || !fetcher) return <KeyForm onKey={use} />;
  return (
    <div className="mpe-shell">
      <header className="mpe-bar">
        <strong>mpehub explorer</strong>
        <span className="mpe-note">
          Key in sessionStorage (this tab only), sent as X-API-Key · 키는 이 탭의 sessionStorage에 보관
        </span>
        <a href="/docs/">Docs · 문서</a>
        <button type="button" className="mpe-forget" onClick={forget}>Forget key · 키 지우기</button>
      </header>
      <div className="mpe-ide">
        <GraphiQL fetcher={fetcher} plugins={[explorer]} isHeadersEditorEnabled={false}
          shouldPersistHeaders={false} />
      </div>
    </div>
  );
}

createRoot(document.getElementById('root')).render(<App />);
