/*
 * upload_page.c - the reply page of offload-upload: GET /u/<src> (no
 * account, optional message, several files, resumable) and its one script
 * and style sheet. The page itself holds nothing secret: the script reads
 * the reply token from the URL fragment (never sent to a server in a URL),
 * removes it from the address bar, and sends it only in the
 * Offload-Reply-Token header. Resume: the script keeps the reply's id and
 * each file's URL in sessionStorage under the token and the file's name,
 * size and date, and asks HEAD for the offset before it sends on. Refusals
 * (too large, link used up or gone: 4xx but 409) are final and shown in
 * German and English without the "send again to resume" hint, which only
 * network losses, 409 and 5xx get. A file the scanner refuses (422 infected
 * or unscannable; on a resend HEAD says Offload-State: refused and
 * Offload-Refused) does not stop the reply: its line says why, in the words
 * of the clerk's mail, the other files go on, and the reply is committed
 * with the accepted ones (none accepted: nothing is committed). A file the
 * commit names as damaged ("damaged": [n]: its stored copy did not verify)
 * gets its line marked the same way, as does one refused as damaged while
 * it was sent (422 damaged, or 409 with Offload-State: refused: its parts
 * were damaged again after [upload] resends returns). A file the server
 * sends back (409, Upload-Offset lower) more than 10 times in one send ends
 * it with a message.
 */
#include <string.h>
#include <glib.h>

#include "page_style.h"
#include "transfer.h"
#include "upload_int.h"

static const char upload_html[] =
	"<!DOCTYPE html>\n<html lang=\"de\"><head><meta charset=\"utf-8\">"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	"<title>Dateien zur\xc3\xbc" "cksenden / Send files back</title>"
	"<link rel=\"stylesheet\" href=\"/u/static/upload.css\"></head><body><main>"
	"<h1>Dateien zur\xc3\xbc" "cksenden <span lang=\"en\">/ Send files back</span></h1>"
	"<p>Die Dateien gehen verschl\xc3\xbc" "sselt an die Person, die Ihnen die Sendung geschickt hat. "
	"<span lang=\"en\">The files go, encrypted, to the person who sent you the transfer.</span></p>"
	"<form id=\"f\"><label for=\"msg\">Nachricht (optional) / Message (optional)</label>"
	"<textarea id=\"msg\" maxlength=\"4000\" rows=\"5\"></textarea>"
	"<label for=\"files\">Dateien / Files</label><input id=\"files\" type=\"file\" multiple>"
	"<button id=\"send\" type=\"submit\">Senden / Send</button></form>"
	"<ul id=\"list\"></ul><p id=\"status\" role=\"status\" aria-live=\"polite\"></p>"
	"</main><script src=\"/u/static/upload.js\"></script></body></html>\n";

/* the portal's frame and its fields and buttons (portal_pages.c), so the page the portal's
 * "send files back" opens is recognisably the same service */
static const char upload_css[] =
	PAGE_STYLE_FRAME
	"label{display:block;font-weight:600;margin-top:1rem}\n"
	"textarea,input{display:block;font:inherit;padding:.5rem;width:100%;max-width:36rem;"
	"border:2px solid #555;border-radius:4px}\n"
	"a:focus,button:focus,input:focus,textarea:focus{outline:3px solid #c25400;outline-offset:2px}\n"
	"button{display:inline-block;font-size:1rem;padding:.6rem 1.2rem;margin-top:1rem;"
	"background:#0b4f9c;color:#fff;border:0;border-radius:4px;cursor:pointer}\n"
	"button:hover{background:#083a73}\n"
	"button:disabled{background:#767676;cursor:default}\n"
	"#list{list-style:none;padding:0}\n"
	"#list li{border:1px solid #767676;border-radius:4px;padding:.5rem .75rem;margin:.5rem 0;"
	"word-break:break-word}\n"
	"#status{margin-top:1rem;font-weight:600}\n"
	".err{color:#a4000f;font-weight:600}\n"
	".ok{color:#056b1f}\n";

static const char upload_js[] =
	"'use strict';\n"
	"(function(){\n"
	"var m=location.pathname.match(/^\\/u\\/([a-z2-7]{24})$/),tok=location.hash.slice(1);\n"
	"if(tok)history.replaceState(null,'',location.pathname);else tok=sessionStorage.getItem('tok:'+(m&&m[1]));\n"
	"if(m&&tok)sessionStorage.setItem('tok:'+m[1],tok);\n"
	"var src=m&&m[1],st=document.getElementById('status'),list=document.getElementById('list');\n"
	"function say(t,c){st.textContent=t;st.className=c||'';}\n"
	"if(!src||!tok){say('Dieser Link ist unvollst\\u00e4ndig. / This link is incomplete.','err');return;}\n"
	"function req(method,url,headers,body){headers=headers||{};headers['Offload-Reply-Token']=tok;"
	"headers['Tus-Resumable']='1.0.0';return fetch(url,{method:method,headers:headers,body:body});}\n"
	"var WHY={infected:'abgewiesen (Schadsoftware gefunden) / refused (malware found)',"
	"unscannable:'abgewiesen (konnte nicht auf Schadsoftware gepr\\u00fcft werden) / refused (could not be checked for malware)',"
	"damaged:'nicht \\u00fcbernommen (die gespeicherte Datei ist besch\\u00e4digt; bitte in einer neuen Antwort erneut senden) / "
	"could not be taken (the stored file is damaged; send it again in a new reply)'};\n"
	"var DE={infected:'Die Datei wurde abgewiesen: Schadsoftware gefunden.',"
	"unscannable:'Die Datei wurde abgewiesen: sie konnte nicht auf Schadsoftware gepr\\u00fcft werden.',"
	"'too-large':'Die Dateien sind gr\\u00f6\\u00dfer, als eine Antwort sein darf.',"
	"'too-many-files':'Zu viele Dateien f\\u00fcr eine Antwort.',uses:'Dieser Antwort-Link ist aufgebraucht.',"
	"gone:'Die Sendung ist abgelaufen oder wurde zur\\u00fcckgezogen.',token:'Dieser Antwort-Link ist ung\\u00fcltig.'};\n"
	"function fail(m,fin){var e=new Error(m);e.fin=fin;return e;}\n"
	"async function err(r,pre){var m;try{var j=await r.json();m=(DE[j.error]?DE[j.error]+' / ':'')+(j.message||j.error);}catch(e){m='HTTP '+r.status;}\n"
	" return fail((pre||'')+m,r.status<500&&r.status!==409);}\n"
	"function fkey(f){return 'up:'+src+':'+f.name+':'+f.size+':'+f.lastModified;}\n"
	"async function sendFile(id,i,f,chunk,li){\n"
	" var url=sessionStorage.getItem(fkey(f)+':url'),r,off=0,back=0;\n"
	" if(url&&url.indexOf('/u/'+src+'/'+id+'/')===0){r=await req('HEAD',url);if(r.ok)off=+r.headers.get('Upload-Offset');else url=null;"
	"  if(r.ok&&r.headers.get('Offload-State')==='done')return true;\n"
	"  if(r.ok&&r.headers.get('Offload-State')==='refused')return r.headers.get('Offload-Refused')||'refused';}\n"
	" if(!url){r=await req('POST','/u/'+src+'/'+id,{'Upload-Length':''+f.size,"
	"'Upload-Metadata':'filename '+btoa(unescape(encodeURIComponent(f.name)))+',index '+btoa(''+i)});\n"
	"  if(r.status!==201)throw await err(r,f.name+': ');url=r.headers.get('Location');sessionStorage.setItem(fkey(f)+':url',url);}\n"
	" do{var end=Math.min(f.size,off+chunk);\n"
	"  r=await req('PATCH',url,{'Upload-Offset':''+off,'Content-Type':'application/offset+octet-stream'},f.slice(off,end));\n"
	"  if(r.status===409){if(r.headers.get('Offload-State')==='refused')return r.headers.get('Offload-Refused')||'refused';\n"
	"   var to=+r.headers.get('Upload-Offset');if(to<=off&&++back>10)throw fail(f.name+': Der Server hat die Datei "
	"\\u00f6fter als 10-mal erneut angefordert (gespeicherte Teile besch\\u00e4digt). / The server asked for the file "
	"again more than 10 times (stored parts damaged).',false);off=to;continue;}\n"
	"  if(r.status===422){var j=null;try{j=await r.clone().json();}catch(e){}if(j&&WHY[j.error])return j.error;}\n"
	"  if(r.status!==204)throw await err(r,f.name+': ');\n"
	"  off=+r.headers.get('Upload-Offset');li.textContent=f.name+': '+Math.round(100*off/Math.max(1,f.size))+' %';\n"
	" }while(off<f.size);\n"
	" return true;}\n"
	"document.getElementById('f').addEventListener('submit',async function(ev){\n"
	" ev.preventDefault();var form=ev.target,btn=document.getElementById('send'),files=document.getElementById('files').files,msg=document.getElementById('msg').value;\n"
	" if(!files.length){say('Bitte Dateien w\\u00e4hlen. / Please choose files.','err');return;}\n"
	" if(btn.disabled)return;btn.disabled=true;\n"
	" var total=0;for(var k=0;k<files.length;k++)total+=files[k].size;\n"
	" var gk='grp:'+src+':'+Array.prototype.map.call(files,fkey).join('|'),id=sessionStorage.getItem(gk),chunk=+sessionStorage.getItem(gk+':chunk');\n"
	" try{\n"
	"  if(!id){var r=await req('POST','/u/'+src,{'Content-Type':'application/json'},JSON.stringify({message:msg,count:files.length,total:total}));\n"
	"   if(r.status!==201)throw await err(r);var j=await r.json();id=j.upload;chunk=j.chunk;"
	"sessionStorage.setItem(gk,id);sessionStorage.setItem(gk+':chunk',''+chunk);}\n"
	"  list.textContent='';var refused=0,lis=[];\n"
	"  for(var i=0;i<files.length;i++){var li=document.createElement('li');li.textContent=files[i].name;list.appendChild(li);lis.push(li);\n"
	"   var res=await sendFile(id,i,files[i],chunk,li);\n"
	"   if(res===true){li.textContent=files[i].name+': \\u2713';continue;}\n"
	"   refused++;li.className='err';li.textContent=files[i].name+': '+(WHY[res]||'abgewiesen / refused');}\n"
	"  if(refused===files.length){sessionStorage.removeItem(gk);"
	"say('Keine Datei wurde angenommen, es wurde nichts gesendet. / No file was accepted, nothing was sent.','err');return;}\n"
	"  var c=await req('POST','/u/'+src+'/'+id+'/commit'),cj=null;try{cj=await c.clone().json();}catch(e){}\n"
	"  (cj&&cj.damaged||[]).forEach(function(k){if(lis[k]&&lis[k].className!=='err'){refused++;lis[k].className='err';lis[k].textContent=files[k].name+': '+WHY.damaged;}});\n"
	"  if(!c.ok)throw await err(c);\n"
	"  sessionStorage.removeItem(gk);form.reset();\n"
	"  say(refused?'Gesendet, ohne die oben als abgewiesen markierten Dateien. / Sent, without the files marked refused above.':"
	"'Gesendet. / Sent.','ok');\n"
	" }catch(e){say(e.fin?e.message:e.message+' \\u2014 Erneut senden setzt fort. / Send again to resume.','err');}\n"
	" finally{btn.disabled=false;}\n"
	"});\n"
	"})();\n";

enum MHD_Result
upload_handle_page(struct upload *u, struct MHD_Connection *conn, const char *src)
{
	(void)u;
	if (!transfer_valid_id(src))
		return upload_send(conn, 404, "text/plain; charset=utf-8", "Not found.\n", 11, NULL);
	return upload_send(conn, 200, "text/html; charset=utf-8", upload_html, strlen(upload_html), NULL);
}

enum MHD_Result
upload_handle_static(struct MHD_Connection *conn, const char *name)
{
	if (strcmp(name, "upload.js") == 0)
		return upload_send(conn, 200, "text/javascript; charset=utf-8", upload_js, strlen(upload_js), NULL);
	if (strcmp(name, "upload.css") == 0)
		return upload_send(conn, 200, "text/css; charset=utf-8", upload_css, strlen(upload_css), NULL);
	return upload_send(conn, 404, "text/plain; charset=utf-8", "Not found.\n", 11, NULL);
}
