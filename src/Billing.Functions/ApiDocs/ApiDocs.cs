namespace Billing.Functions.ApiDocs;

/// <summary>The OpenAPI document at <c>/api/openapi.json</c> and a small API explorer page at <c>/api/docs</c>.</summary>
public static class ApiDocs
{
    public static IServiceCollection AddApiDocs(this IServiceCollection services) =>
        services.AddOpenApi("v1", options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "BillingFunctions API";
            document.Info.Version = "v1";
            document.Info.Description = "Subscription billing: customers, catalog, payments, subscriptions, invoices. " +
                "Authenticate with 'Authorization: Bearer sk_…' (admin) or a customer token 'ct_…'. JSON is snake_case; errors are RFC 9457 problem details.";
            return Task.CompletedTask;
        }));

    public static IEndpointRouteBuilder MapApiDocs(this IEndpointRouteBuilder routes)
    {
        routes.MapOpenApi("/api/openapi.json").AllowAnonymous();
        routes.MapGet("/api/docs", () => Results.Content(ExplorerPage, "text/html; charset=utf-8")).AllowAnonymous().ExcludeFromDescription();
        return routes;
    }

    private const string ExplorerPage = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>BillingFunctions API explorer</title>
        <style>
        body{font:14px system-ui,sans-serif;margin:0;color:#1a1a2e}header{background:#1a1a2e;color:#fff;padding:12px 24px;display:flex;gap:16px;align-items:center}
        header input{flex:1;max-width:520px;padding:6px;font:inherit}main{padding:16px 24px;max-width:1100px}
        details{border:1px solid #ddd;border-radius:6px;margin:6px 0}summary{padding:8px;cursor:pointer}
        .m{display:inline-block;width:64px;font-weight:700}.GET{color:#0a7}.POST{color:#06c}.PATCH{color:#a60}.DELETE{color:#c22}
        .body{padding:8px 12px;border-top:1px solid #eee}textarea{width:100%;height:120px;font:12px monospace}pre{background:#f6f6f8;padding:8px;overflow:auto;max-height:360px}
        h2{margin-top:24px;border-bottom:1px solid #eee}
        </style></head><body>
        <header><strong>BillingFunctions API</strong><input id="key" placeholder="Bearer key (sk_… or ct_…)"><a style="color:#9cf" href="/api/openapi.json">openapi.json</a></header>
        <main id="ops">Loading…</main>
        <script>
        const key=document.getElementById('key');key.value=sessionStorage.getItem('key')||'';key.onchange=()=>sessionStorage.setItem('key',key.value);
        const esc=s=>String(s).replace(/[&<>"]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
        fetch('/api/openapi.json').then(r=>r.json()).then(doc=>{
          const byTag={};
          for(const [path,item] of Object.entries(doc.paths))for(const [method,op] of Object.entries(item)){
            const tag=(op.tags||['Other'])[0];(byTag[tag]=byTag[tag]||[]).push({path,method:method.toUpperCase(),op});}
          const main=document.getElementById('ops');main.innerHTML='';
          for(const [tag,ops] of Object.entries(byTag)){
            main.insertAdjacentHTML('beforeend',`<h2>${esc(tag)}</h2>`);
            for(const {path,method,op} of ops){
              const d=document.createElement('details');
              d.innerHTML=`<summary><span class="m ${method}">${method}</span><code>${esc(path)}</code> — ${esc(op.summary||'')}</summary>
              <div class="body"><label>Path <input class="p" size="60" value="${esc(path)}"></label>
              ${['POST','PATCH'].includes(method)?'<p><textarea class="b">{}</textarea></p>':''}
              <button>Send</button><pre class="o"></pre></div>`;
              d.querySelector('button').onclick=async()=>{
                const b=d.querySelector('.b');const headers={'Authorization':'Bearer '+key.value};
                if(b){headers['Content-Type']='application/json';headers['Idempotency-Key']=crypto.randomUUID();}
                const r=await fetch(d.querySelector('.p').value,{method,headers,body:b?b.value:undefined});
                d.querySelector('.o').textContent=r.status+' '+r.statusText+'\n'+await r.text();};
              main.appendChild(d);}}
        });
        </script></body></html>
        """;
}
