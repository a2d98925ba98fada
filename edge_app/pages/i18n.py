"""Korean and English for the pages of both servers (the site app and head office): one
catalogue, the language from a cookie or the browser's Accept-Language (Korean by default),
dates in each language's local format.

Refusal reasons: a file's reason is a key of the engine's catalogue
(:data:`edge_app.engine.decode.REASONS`, which also gives its Korean text); only the reasons
the app itself gives (:data:`APP_REASONS`) are written here. One text for each reason.

In templates: ``{{ t("confirm") }}``, ``{{ t("n_of_m_analysed", n=12, m=30) }}``,
``{{ when(photo.taken_local) }}``.
"""

from __future__ import annotations

from datetime import datetime

from flask import request

LANGS = ("ko", "en")
DEFAULT_LANG = "ko"

#: key -> (Korean, English). Placeholders use str.format names.
CATALOGUE: dict[str, tuple[str, str]] = {
    "app_name": ("현장 사진 정리", "Site photos"),
    "sites": ("현장 목록", "Sites"),
    "site": ("현장", "Site"),
    "site_auto_name": ("{date} 현장", "Site of {date}"),
    "site_no_date": ("현장 {id}", "Site {id}"),
    "spot": ("지점", "Spot"),
    "spot_auto_name": ("지점 {n}", "Spot {n}"),
    "unassigned": ("미분류", "Unassigned"),
    "unassigned_hint": ("어느 지점에도 넣지 않은 사진입니다. 선택해서 지점으로 옮기세요.",
                        "Photos not in any spot yet. Select them and move them to a spot."),
    "photos_n": ("사진 {n}장", "{n} photos"),
    "spots_n": ("지점 {n}곳", "{n} spots"),
    "confirmed_n": ("확인 {n}", "{n} confirmed"),
    "unassigned_n": ("미분류 {n}", "{n} unassigned"),
    "add_photos": ("사진 추가", "Add photos"),
    "choose_photos": ("사진 선택", "Choose photos"),
    "take_photo": ("카메라로 촬영", "Take a photo"),
    "upload": ("올리기", "Upload"),
    "uploading": ("올리는 중 {n} / {m}", "Uploading {n} of {m}"),
    "upload_done": ("올리기 완료: 추가 {added}, 중복 {dup}, 거부 {refused}",
                    "Upload done: {added} added, {dup} already here, {refused} refused"),
    "close": ("닫기", "Close"),
    "upload_failed_retry": ("연결이 끊겼습니다. 다시 시도하는 중…", "Connection lost. Retrying…"),
    "n_of_m_analysed": ("{n} / {m}장 분석됨", "{n} of {m} analysed"),
    "all_analysed": ("모든 사진이 정리되었습니다", "All photos are sorted"),
    "waiting_n": ("분석 대기 {n}장", "{n} waiting for analysis"),
    "grouping": ("지점별로 묶는 중…", "Grouping by spot…"),
    "checking_closer": ("놓친 사진이 없는지 한 번 더 보는 중… 손으로 고친 것은 그대로 둡니다.",
                        "Taking a second look for missed photos… nothing you changed will move."),
    "checking_site": ("{site}: 놓친 사진이 없는지 한 번 더 보는 중…", "{site}: taking a second look for missed photos…"),
    "ledger_preparing": ("사진대지를 만드는 중입니다… 사진이 많으면 1분쯤 걸릴 수 있습니다. 다시 누르지 마세요.",
                         "Preparing the ledger… with many photos this can take a minute. No need to tap again."),
    "sync_off_pending": ("설정하면 확인된 지점 {n}곳을 보냅니다", "once set up, {n} confirmed spots will be sent"),
    "checked_closer": ("한 번 더 비교를 마쳤습니다.", "Second look done."),
    "new_photos_placed": ("사진 정리가 새로 바뀌었습니다. 눌러서 보기", "The grouping was updated. Tap to show"),
    "open_site": ("열기", "Open"),
    "refused_files": ("받지 않은 파일", "Files not taken"),
    "failed_photos": ("분석하지 못한 사진", "Photos that could not be analysed"),
    "no_sites": ("아직 사진이 없습니다. 위에서 사진을 추가하세요.", "No photos yet. Add photos above."),
    "before": ("전", "Before"),
    "during": ("중", "During"),
    "after": ("후", "After"),
    "phase_unknown": ("미정", "Phase?"),
    "phase_long_before": ("시공 전", "Before"),
    "phase_long_during": ("시공 중", "During"),
    "phase_long_after": ("시공 후", "After"),
    "tap_to_change_phase": ("눌러서 전/중/후 바꾸기", "Tap to change before/during/after"),
    "missing_after": ("후 사진 아직 없음", "No 'after' photo yet"),
    "unsure_n": ("확인 필요 {n}장", "{n} to check"),
    "unsure": ("확인 필요", "Check this"),
    "review_machine": ("장비 때문에 묶였는지 확인", "Check: joined by a machine?"),
    "review_shared": ("다른 지점과 같은 건물인지 확인", "Check: a building shared with another spot?"),
    "looks_like": ("비슷한 지점: {name}", "Looks like: {name}"),
    "suggest_to_spot": ("다시 보니 {name}에 더 맞습니다", "On a second look it fits {name} better"),
    "suggest_to_new": ("다시 보니 이 지점이 아닙니다: 새 지점으로", "On a second look it is not this spot: a new spot"),
    "suggest_to_tray": ("다시 보니 이 지점이 아닙니다: 미분류로", "On a second look it is not this spot: to unassigned"),
    "suggest_accept": ("옮기기", "Move"),
    "suggest_dismiss": ("여기 두기", "Keep here"),
    "suggestion_gone": ("이 제안은 이미 처리되었거나 사진이 그 사이 옮겨졌습니다", "This suggestion was already answered, or the photo has moved since"),
    "confirm": ("확인 완료", "Confirm"),
    "confirmed": ("확인됨", "Confirmed"),
    "unconfirm": ("확인 취소", "Unconfirm"),
    "confirm_all": ("남은 지점 모두 확인", "Confirm all remaining"),
    "confirm_all_q": ("남은 지점 {n}곳을 모두 확인할까요?", "Confirm all {n} remaining spots?"),
    "rename": ("이름 바꾸기", "Rename"),
    "name": ("이름", "Name"),
    "spot_name_placeholder": ("예: 컨테이너 좌측", "e.g. left of the container"),
    "save": ("저장", "Save"),
    "cancel": ("취소", "Cancel"),
    "compare": ("전·후 비교", "Before / after"),
    "side_by_side": ("나란히", "Side by side"),
    "slider": ("슬라이더", "Slider"),
    "large_view": ("크게 보기", "Large view"),
    "set_cover": ("대표 사진으로", "Set as cover"),
    "cover": ("대표", "Cover"),
    "merge_into": ("합치기", "Merge"),
    "merge_with": ("이 지점과 합치기…", "Merge with…"),
    "merge_this_into": ("이 지점을 다음 지점에 합치기:", "Merge this spot into:"),
    "compare_hint": ("A(왼쪽)와 B(오른쪽)에 놓을 사진을 고르세요", "Choose the photos for A (left) and B (right)"),
    "choose_target": ("옮길 곳을 고르세요", "Choose where to move them"),
    "no_photos_chosen": ("먼저 사진을 고르세요", "Choose photos first"),
    "device_full": ("기기 저장 공간이 가득 차서 사진을 저장하지 못했습니다. 이미 올라간 사진은 그대로 있습니다. 기기의 "
                    "저장 공간을 비운 뒤 나머지 사진을 다시 올려 주세요.",
                    "The device is full, so the photo was not stored. Photos already uploaded are kept. Free some "
                    "space on the device, then upload the remaining photos again."),
    "selected_n": ("{n}장 선택", "{n} selected"),
    "select": ("선택", "Select"),
    "clear_selection": ("선택 해제", "Clear"),
    "move_to": ("옮기기", "Move to"),
    "move": ("옮기기", "Move"),
    "new_spot": ("새 지점", "New spot"),
    "split_off": ("새 지점으로 나누기", "Split off as new spot"),
    "to_unassigned": ("미분류로", "To unassigned"),
    "remove": ("삭제", "Remove"),
    "removed_photos": ("삭제한 사진 {n}장", "{n} removed photos"),
    "restore": ("되살리기", "Restore"),
    "undo": ("되돌리기", "Undo"),
    "undo_what": ("되돌리기: {what}", "Undo: {what}"),
    "nothing_to_undo": ("되돌릴 것이 없습니다", "Nothing to undo"),
    "undone": ("되돌렸습니다: {what}", "Undone: {what}"),
    "redo": ("다시 실행", "Redo"),
    "redo_what": ("다시 실행: {what}", "Redo: {what}"),
    "redone": ("다시 실행했습니다: {what}", "Redone: {what}"),
    "nothing_to_redo": ("다시 실행할 것이 없습니다", "Nothing to redo"),
    "redo_conflicts": ("{n}건은 이후 수정 때문에 다시 하지 않았습니다", "{n} changes were left out because of later edits"),
    "undo_conflicts": ("{n}건은 이후 수정 때문에 되돌리지 않았습니다", "{n} changes were kept because of later edits"),
    "act_move": ("사진 {n}장 옮김", "moved {n} photo(s)"),
    "act_followed": ("{what} · 함께 따라간 사진 {n}장", "{what} · {n} more photo(s) went along"),
    "act_merge": ("지점 합침", "merged spots"),
    "act_split": ("지점 나눔", "split a spot"),
    "act_each_new": ("사진 {n}장 각각 새 지점", "{n} photo(s), each to a new spot"),
    "each_new_spot": ("각각 새 지점", "Each its own spot"),
    "move_here": ("여기로", "Move here"),
    # drag and drop on the site page (issue 17): what a release does, said beside the finger
    "drag_hint": ("사진을 길게 누른 채 끌어서 지점에 놓으면 옮겨집니다. 미분류 사진 위에 놓으면 둘이 새 지점이 됩니다.",
                  "Press and hold a photo, then drag it onto a spot to move it; onto an unassigned photo to make "
                  "a new spot of both."),
    "drag_to_spot": ("{name}에 넣기", "Move to {name}"),
    "drag_to_tray": ("미분류로 빼기", "Back to unassigned"),
    "drag_new_spot": ("사진 {n}장으로 새 지점", "New spot of {n} photos"),
    "drag_reopens": ("확인된 지점: 다시 열기", "confirmed: reopens it"),
    "drag_cancel": ("여기서 놓으면 취소", "Release here to cancel"),
    "drag_drop_here": ("여기에 놓기", "Drop here"),
    "act_rename": ("이름 바꿈", "renamed a spot"),
    "act_cover": ("대표 사진 바꿈", "changed the cover"),
    "act_confirm": ("지점 확인", "confirmed a spot"),
    "act_unconfirm": ("확인 취소", "unconfirmed a spot"),
    "act_confirm_all": ("모두 확인", "confirmed all spots"),
    "act_phase": ("사진 {n}장 전/중/후 → {to}", "{n} photo(s) set to {to}"),
    "act_remove": ("사진 {n}장 삭제", "removed {n} photo(s)"),
    "act_restore": ("사진 {n}장 되살림", "restored {n} photo(s)"),
    "act_site_rename": ("현장 이름 바꿈", "renamed the site"),
    "act_site_merge": ("현장 합침", "merged sites"),
    "act_site_split": ("현장 나눔", "split the site"),
    "act_accept_suggestion": ("제안대로 사진 {n}장 옮김", "moved {n} photo(s) as suggested"),
    "act_dismiss_suggestion": ("사진 {n}장 그대로 둠", "kept {n} photo(s) where they are"),
    "site_merge_with": ("다른 현장과 합치기…", "Merge with another site…"),
    "site_split": ("선택한 지점을 새 현장으로", "Selected spots to a new site"),
    "site_tools": ("현장 관리", "Site tools"),
    "back": ("뒤로", "Back"),
    "home": ("처음으로", "Home"),
    "language": ("English", "한국어"),
    "pin": ("PIN 번호", "PIN"),
    "pin_again": ("PIN 번호 다시 입력", "PIN again"),
    "your_name": ("이름 (선택)", "Your name (optional)"),
    "login": ("들어가기", "Enter"),
    "logout": ("나가기", "Log out"),
    "login_title": ("PIN 번호를 입력하세요", "Enter the PIN"),
    "setup_title": ("처음 사용: PIN 번호를 정하세요", "First use: choose a PIN"),
    "setup_hint": ("숫자 4~12자리. 이 PIN으로 현장 태블릿에서 들어갑니다.",
                   "4 to 12 digits. The crew uses this PIN on the site tablet."),
    "pin_set": ("PIN 번호를 정했습니다", "The PIN is set"),
    "pins_differ": ("두 PIN 번호가 다릅니다", "The two PINs differ"),
    "wrong_pin": ("PIN 번호가 틀렸습니다", "Wrong PIN"),
    "setup_code": ("설정 코드 (기기 화면에 표시된 숫자 8자리)", "Setup code (the 8 digits the device showed when it started)"),
    "wrong_setup_code": ("설정 코드가 틀렸습니다. 기기를 켤 때 표시된 코드를 입력하세요.",
                         "Wrong setup code. Type the code the device printed when it started."),
    "too_many_tries": ("너무 많이 틀렸습니다. {s}초 후에 다시 하세요.", "Too many tries. Try again in {s} s."),
    "session_expired": ("오래 사용하지 않아 다시 PIN 번호를 입력해야 합니다", "Please enter the PIN again (the page was idle)"),
    "page_outdated": ("화면이 오래되어 새로 불러왔습니다. 다시 해 주세요.", "The page was out of date and was reloaded. Please try again."),
    "error": ("오류", "Error"),
    "not_found": ("찾을 수 없습니다", "Not found"),
    "confirmed_locked": ("확인된 지점({names})은 바뀌지 않았습니다. 고치려면 먼저 '다시 열기'를 누르세요.",
                         "Nothing changed: {names} is confirmed. Tap 'Reopen' first to change it."),
    "reopen_q": ("확인된 지점을 다시 열고 고칠까요? 다시 확인하면 본사에 새로 보냅니다.",
                 "Reopen the confirmed spot to change it? Confirm it again to send the new version."),
    "reopened": ("{name}을(를) 다시 열었습니다", "{name} reopened"),
    "reopen": ("다시 열기", "Reopen"),
    "stale_title": ("이 화면은 오래되었습니다 — 새로 고침", "This page is out of date — reload it"),
    "stale_nothing_done": ("누른 것은 하지 않았습니다. 새로 고친 화면을 보고 다시 하세요.",
                           "Nothing was done. Reload, check the page as it is now, and do it again."),
    "stale_since": ("이 화면을 연 뒤에 바뀐 것:", "Changed since this page was opened:"),
    "stale_edit": ("{what} ({who}, {at})", "{what} ({who}, {at})"),
    "stale_engine": ("새 사진이나 자동 정리로 사진 자리가 바뀌었습니다", "New photos or the automatic grouping moved photos"),
    "stale_spot_gone": ("{name}은(는) 이제 없습니다 (다른 지점과 합쳐졌거나 비워졌습니다)",
                        "{name} no longer exists (merged into another spot, or emptied)"),
    "stale_site_gone": ("이 현장은 다른 현장과 합쳐졌습니다", "This site was merged into another site"),
    "reload": ("새로 고침", "Reload"),
    "offline_edit": ("연결이 끊겼습니다 — 다시 연결되면 다시 누르세요", "Connection lost — tap again once reconnected"),
    "host_not_allowed": ("이 주소로는 열 수 없습니다. 기기에 표시된 주소로 여세요 (다른 이름은 edge-app serve "
                         "--allowed-host 이름)", "This page does not answer to that address. Open the address the "
                         "device prints (other names: edge-app serve --allowed-host NAME)"),
    "too_big_upload": ("파일이 너무 큽니다", "The upload is too large"),
    "analysing": ("분석 중", "Analysing"),
    "taken": ("촬영", "Taken"),
    "camera": ("카메라", "Camera"),
    "file": ("파일", "File"),
    "size": ("크기", "Size"),
    "no_time": ("촬영 시각 없음", "No capture time"),
    "previous": ("이전", "Previous"),
    "next": ("다음", "Next"),
    "engine": ("자동", "automatic"),
    "person": ("사람", "by hand"),
    "placed_by": ("배치", "Placed"),
    "history": ("수정 기록", "Edit history"),
    "reason": ("이유", "Reason"),
    "worker_error": ("자동 정리 오류: {e}", "Sorting error: {e}"),
    "no_spots_yet": ("아직 지점이 없습니다", "No spots yet"),
    "sync_off": ("본사 연결 설정 없음 (현장에서만 사용)", "No head office set (working offline)"),
    "sync_waiting_offline": ("업로드 대기 지점 {n}곳 (오프라인)", "Waiting to upload: {n} spots (offline)"),
    "sync_waiting": ("업로드 대기 지점 {n}곳", "Waiting to upload: {n} spots"),
    "sync_uploading": ("사진 올리는 중 {n} / {m}", "Uploading {n} of {m} photos"),
    "sync_spots_left": ("남은 지점 {n}곳", "{n} spots left"),
    "sync_done_at": ("모두 본사에 보냄 · {at}", "All synced at {at}"),
    "sync_nothing": ("본사로 보낼 지점 없음 (지점을 확인하면 보냅니다)", "Nothing to send yet (confirmed spots are sent)"),
    "sync_attention": ("확인 필요: {reason}", "Needs attention: {reason}"),
    "sync_now": ("지금 보내기", "Sync now"),
    "sync_started": ("본사로 보내는 중입니다", "Syncing now"),
    "synced": ("본사 전송됨", "Synced"),
    "sync_waiting_badge": ("전송 대기", "Waiting to sync"),
    "sync_attention_badge": ("전송 확인 필요", "Sync needs attention"),
    "settings": ("설정", "Settings"),
    "settings_saved": ("저장했습니다", "Saved"),
    "hq_settings": ("본사 연결", "Head office"),
    "hq_settings_hint": ("확인한 지점은 연결되는 대로 본사로 보냅니다. 본사에서 받은 장비 이름과 비밀키를 입력하세요.",
                         "Confirmed spots go to head office whenever it can be reached. Enter the device name and "
                         "secret head office gave you."),
    "hq_url": ("본사 주소", "Head-office address"),
    "hq_url_invalid": ("주소는 http:// 또는 https:// 로 시작합니다", "The address starts with http:// or https://"),
    "device_name": ("장비 이름", "Device name"),
    "device_secret": ("비밀키", "Secret"),
    "secret_is_set": ("저장됨 (바꾸려면 입력)", "saved (type to change)"),
    "clear_secret": ("비밀키 지우기", "Clear the secret"),
    "hq_title": ("본사 · 현장 사진", "Head office · site photos"),
    "hq_login": ("본사 비밀번호를 입력하세요", "Enter the head-office password"),
    "hq_setup": ("처음 사용: 본사 비밀번호를 정하세요", "First use: choose the head-office password"),
    "hq_password": ("비밀번호 (8자 이상)", "Password (8 characters or more)"),
    "hq_password_again": ("비밀번호 다시 입력", "Password again"),
    "hq_password_short": ("비밀번호는 {n}자 이상이어야 합니다", "The password needs at least {n} characters"),
    "wrong_password": ("비밀번호가 틀렸습니다", "Wrong password"),
    "hq_devices": ("장비", "Devices"),
    "hq_device": ("장비", "Device"),
    "hq_last_contact": ("마지막 연결", "last contact"),
    "hq_never": ("없음", "never"),
    "hq_revoked": ("해지됨", "revoked"),
    "hq_no_devices": ("등록된 장비가 없습니다. 관리자가 서버에서 'edge-app hq add-device 이름'으로 등록합니다.",
                      "No devices yet. An administrator registers one on the server: 'edge-app hq add-device NAME'."),
    "hq_all_sites": ("모든 현장", "All sites"),
    "hq_all_devices": ("모든 장비", "All devices"),
    "hq_from": ("부터", "From"),
    "hq_to": ("까지", "To"),
    "hq_filter": ("보기", "Show"),
    "hq_spots": ("받은 지점", "Received spots"),
    "hq_no_spots": ("받은 지점이 없습니다", "No spots received yet"),
    "hq_ledger_hint": ("현장을 고르면 사진대지(PDF, 엑셀, 원본 ZIP)를 받을 수 있습니다",
                       "Choose a site to download its photo ledger (PDF, Excel, originals as ZIP)"),
    "hq_zip": ("원본 ZIP 받기", "Download originals (ZIP)"),
    "select_hint": ("사진을 눌러 선택한 뒤 아래에서 옮기세요", "Tap photos to select them, then choose below"),
    # the photo ledger (사진대지): pages/ledger_routes.py, web/ledger.py, templates/ledger/
    "ledger": ("사진대지", "Photo ledger"),
    "ledger_hint": ("확인된 지점의 전·중·후 사진을 위치·내용·일자와 함께 문서로 만듭니다.",
                    "The confirmed spots' before, during and after photos, with location, description and dates."),
    "ledger_pdf": ("PDF 받기 (제출용)", "PDF (to submit)"),
    "ledger_xlsx": ("엑셀 받기 (작업용)", "Excel XLSX (to work in)"),
    "ledger_template": ("엑셀 양식", "Excel layout"),
    "ledger_template_builtin": ("기본 양식", "built-in"),
    "ledger_template_hint": ("회사 엑셀 양식(.xlsx)을 올리면 '엑셀 받기'가 그 양식에 사진과 내용을 채웁니다. 이 태블릿의 "
                             "모든 현장에 쓰입니다. 양식은 보통 본사에서 만들어 줍니다.",
                             "Upload your company's Excel layout (.xlsx) and 'Excel' fills it with the photos and "
                             "details. It serves every site on this tablet. Head office usually provides it."),
    "hq_ledger_template_hint": ("회사 엑셀 양식(.xlsx)을 올리면 본사에서 받는 모든 사진대지 엑셀이 그 양식을 채웁니다. "
                                "양식의 칸에 이름을 붙여 두어야 합니다: 사진은 PHOTO_BEFORE / PHOTO_DURING / "
                                "PHOTO_AFTER, 내용은 LOCATION, CAPTION, WORKS_NAME 등 (설명서: docs/ledger.md).",
                                "Upload the company's Excel layout (.xlsx) and every ledger workbook exported here "
                                "fills it. Its cells need names: PHOTO_BEFORE / PHOTO_DURING / PHOTO_AFTER for "
                                "photos, LOCATION, CAPTION, WORKS_NAME and so on for text (see docs/ledger.md)."),
    "ledger_template_upload": ("양식 올리기", "Upload layout"),
    "ledger_template_remove": ("기본 양식으로 되돌리기", "Back to the built-in layout"),
    "ledger_template_saved": ("양식을 저장했습니다: {name} (채울 칸 {n}개). 이제 '엑셀 받기'가 이 양식을 씁니다.",
                              "Layout saved: {name} ({n} named cells). 'Excel' now fills it."),
    "tpl_not_xlsx": ("엑셀 파일(.xlsx)이 아닙니다", "not an Excel workbook (.xlsx)"),
    "tpl_too_big": ("파일이 너무 큽니다 ({mb} MB 넘음)", "the file is too large (over {mb} MB)"),
    "tpl_no_photo": ("사진 칸(PHOTO_BEFORE / PHOTO_DURING / PHOTO_AFTER 이름)이 없습니다",
                     "it has no photo cell (named PHOTO_BEFORE / PHOTO_DURING / PHOTO_AFTER)"),
    "tpl_one_sheet": ("지점 한 칸의 이름들이 여러 시트에 나뉘어 있습니다", "the spot block's named cells are on several sheets"),
    "tpl_last_rows": ("지점 칸({r0}-{r1}행) 아래에 다른 내용이 있습니다. 지점 칸이 맨 아래에 있어야 합니다",
                      "there is content below the spot block (rows {r0}-{r1}); it must be the last rows"),
    "ledger_template_refused": ("이 양식은 쓸 수 없습니다: {e}", "This layout cannot be used: {e}"),
    "ledger_template_removed": ("기본 양식으로 되돌렸습니다. 예전 양식은 보관됩니다.",
                                "Back to the built-in layout; the previous one is kept."),
    "no_file_chosen": ("파일을 고르세요.", "Choose a file first."),
    "ledger_zip": ("원본 사진 ZIP", "Originals as ZIP"),
    "ledger_spots_n": ("확인된 지점 {n}곳", "{n} confirmed spots"),
    "ledger_unconfirmed_n": ("미확인 {n}곳은 빠짐", "{n} unconfirmed left out"),
    "ledger_include_unconfirmed": ("미확인 지점도 넣기", "Include unconfirmed spots"),
    "ledger_all_photos": ("단계마다 모든 사진 넣기", "All photos of each stage"),
    "ledger_site_fields": ("공사 정보", "Works details"),
    "ledger_works_name": ("공사명", "Works name"),
    "ledger_works_placeholder": ("예: 2026년 ○○공원 제초작업", "e.g. 2026 park mowing works"),
    "ledger_company": ("회사명", "Company"),
    "ledger_company_placeholder": ("예: ㈜한빛조경", "e.g. Hanbit Landscaping Co."),
    "ledger_work_type": ("공종 (선택)", "Work type (optional)"),
    "ledger_work_type_placeholder": ("예: 제초, 수목 전정, 토공", "e.g. mowing, pruning, earthwork"),
    "ledger_stage_words": ("전·중·후 표기", "Stage words"),
    "ledger_spot_fields": ("위치·내용", "Location, description"),
    "ledger_location": ("위치/측점", "Location / station"),
    "ledger_location_placeholder": ("예: 컨테이너 좌측, STA.0+120", "e.g. left of the container, STA.0+120"),
    "ledger_asset_no": ("관리번호 (선택)", "Asset number (optional)"),
    "ledger_asset_placeholder": ("예: 수목 번호 T-102", "e.g. tree tag T-102"),
    "ledger_caption": ("내용", "Description"),
    "ledger_caption_placeholder": ("예: 제초 작업", "e.g. mowing"),
    "ledger_saved": ("저장했습니다", "Saved"),
    "ledger_nothing": ("사진대지에 넣을 확인된 지점이 없습니다. 지점을 확인하거나 '미확인 지점도 넣기'를 고르세요.",
                       "No confirmed spot to put in the ledger. Confirm spots, or choose 'Include unconfirmed spots'."),
    "ledger_failed": ("사진대지를 만들지 못했습니다: {e}", "The ledger could not be made: {e}"),
    "act_ledger_site": ("공사 정보 바꿈", "changed the works details"),
    "act_ledger_spot": ("위치·내용 바꿈", "changed a location or description"),
    "ledger_keep_during": ("'중' 칸 항상 넣기 (그 단계 사진이 없어도)", "Keep the 'during' column (even without photos)"),
    "ledger_no_map": ("위치도 빼기 (사진 GPS로 그리는 지점 배치도)", "Leave out the location map (spots placed by GPS)"),
    "ledger_client": ("발주처", "Client"),
    "ledger_client_placeholder": ("예: ○○구청", "e.g. the district office"),
    "ledger_contract_no": ("계약번호", "Contract no."),
    "ledger_contract_period": ("공사기간 (계약서대로)", "Contract period (as in the contract)"),
    "ledger_contract_period_placeholder": ("예: 2026.03.02 ~ 2026.11.30", "e.g. 2026.03.02 ~ 2026.11.30"),
    # warnings next to the export buttons (edge_app/ledger/checks.py), never printed in the documents
    "ledger_warn_title": ("내보내기 전에 확인하세요 ({n}건)", "Check before exporting ({n})"),
    "ledger_warn_hint": ("사진대지에는 나오지 않는 안내입니다. 지점 이름을 누르면 그 지점으로 갑니다.",
                         "These notes are not printed in the ledger. Tap a spot's name to go to it."),
    "ledger_warn_after_early": ("'{after}' 사진({after_at})이 '{before}' 사진({before_at})보다 먼저 찍혔습니다",
                                "the '{after}' photo ({after_at}) was taken before the '{before}' photo ({before_at})"),
    "ledger_warn_no_after": ("'{after}' 사진이 없습니다 (그 칸에 '사진 없음'이 찍힙니다)",
                             "no '{after}' photo (its cell will read 'No photo')"),
    "ledger_warn_no_date": ("촬영일시를 알 수 없는 사진 {n}장 (날짜 없이 찍힙니다)",
                            "{n} photo(s) without any date (printed without one)"),
    "ledger_warn_unconfirmed": ("미확인", "unconfirmed"),
    "ledger_layout": ("모양 (PDF·엑셀)", "Layout (PDF, Excel)"),
    "ledger_layout_row": ("지점마다 한 줄 (전·후 나란히)", "A spot a row (stages side by side)"),
    "ledger_layout_2up": ("한 쪽에 큰 사진 2장", "2 large photos a page"),
    "ledger_layout_4up": ("한 쪽에 사진 4장", "4 photos a page"),
}

#: Korean for the reasons the app itself gives a photo (the worker and the store), beyond the
#: engine's :data:`edge_app.engine.decode.REASONS` (no key of which is repeated here).
APP_REASONS: dict[str, str] = {
    "original damaged on disk": "저장된 원본 손상",
}

#: What the store refuses, in the lead's words: ``StoreError.code`` -> (Korean, English)
#: (``StoreError.params`` fill the placeholders). Every code the store raises is here
#: (tests/web/test_store_error_words.py reads the store for them); "bad_form" is a form
#: field the page itself sent wrong (a number out of range).
STORE_ERRORS: dict[str, tuple[str, str]] = {
    "no_edit": ("되돌릴 작업을 찾을 수 없습니다", "That change can no longer be found"),
    "already_undone": ("이미 되돌린 작업입니다", "That change was already undone"),
    "cannot_redo": ("이 작업은 더 이상 다시 실행할 수 없습니다", "That change can no longer be redone"),
    "no_site": ("이 현장은 이제 없습니다 (합쳐졌거나 지워졌습니다)", "That site no longer exists (merged or removed)"),
    "merge_two_sites": ("합칠 현장을 두 곳 이상 고르세요", "Choose at least two sites to merge"),
    "split_site_empty": ("새 현장으로 옮길 지점이나 사진을 고르세요", "Choose the spots or photos for the new site"),
    "spot_other_site": ("그 지점은 다른 현장에 있습니다. 새로 고친 뒤 다시 해 주세요",
                        "That spot is in another site. Reload the page and try again"),
    "photo_other_site": ("그 사진은 다른 현장에 있습니다. 새로 고친 뒤 다시 해 주세요",
                         "That photo is in another site. Reload the page and try again"),
    "no_data": ("이 폴더에는 사진 자료가 없습니다", "There is no photo data in this folder"),
    "no_spot": ("이 지점은 이제 없습니다 (합쳐졌거나 비었습니다)", "That spot no longer exists (merged or emptied)"),
    "unknown_field": ("알 수 없는 항목입니다", "Unknown field"),
    "stage_words": ("전·중·후 이름은 목록에서 고르세요", "Choose the stage words from the list"),
    "pin_digits": ("PIN 번호는 숫자 {low}~{high}자리입니다", "The PIN must be {low} to {high} digits"),
    "no_batch": ("이 올리기 묶음을 찾을 수 없습니다", "That upload can no longer be found"),
    "no_photo": ("이 사진을 찾을 수 없습니다", "That photo can no longer be found"),
    "photos_sites_differ": ("고른 사진들이 서로 다른 현장에 있습니다", "The chosen photos are in different sites"),
    "none_selected": ("먼저 사진을 고르세요", "Choose photos first"),
    "no_site_yet": ("이 사진들은 아직 분석 중이라 현장이 없습니다. 잠시 뒤 다시 해 주세요",
                    "These photos are still being analysed and have no site yet. Try again shortly"),
    "merge_two_spots": ("합칠 지점을 두 곳 이상 고르세요", "Choose at least two spots to merge"),
    "spots_sites_differ": ("고른 지점들이 서로 다른 현장에 있습니다", "The chosen spots are in different sites"),
    "split_choose": ("이 지점에서 떼어 낼 사진을 고르세요", "Choose photos of this spot to split off"),
    "split_leave_one": ("지점에 사진을 한 장 이상 남겨 두세요", "Leave at least one photo in the spot"),
    "cover_not_in_spot": ("대표 사진은 이 지점의 사진이어야 합니다", "The cover must be a photo of this spot"),
    "confirm_empty": ("사진이 없는 지점은 확인할 수 없습니다", "A spot without photos cannot be confirmed"),
    "bad_phase": ("전/중/후는 전, 중, 후 가운데 하나여야 합니다", "The stage must be before, during or after"),
    "no_suggestion": ("이 제안을 찾을 수 없습니다", "That suggestion can no longer be found"),
    "suggestion_answered": ("이 제안은 이미 처리되었습니다", "That suggestion was already answered"),
    "suggestion_moved": ("그 사이 사진이 옮겨져 이 제안은 맞지 않습니다", "The photo has moved since; the suggestion no longer holds"),
    "bad_form": ("화면의 값이 맞지 않습니다. 새로 고친 뒤 다시 해 주세요", "The page sent a wrong value. Reload it and try again"),
}


def store_error_text(lang: str, e: Exception) -> str:
    """A refusal of the store (:class:`edge_app.store.StoreError`) for a page, in ``lang``:
    its code's text; one without a code is already in the lead's words. Any other
    ValueError (a form's number that is not one) is "bad_form"."""
    code = getattr(e, "code", None) if hasattr(e, "params") else "bad_form"
    pair = STORE_ERRORS.get(code or "")
    if pair is None:
        return str(e)
    text = pair[0] if lang == "ko" else pair[1]
    return text.format(**e.params) if getattr(e, "params", None) else text


_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS_KO = "월화수목금토일"


def pick_lang() -> str:
    """The page language: the ``lang`` cookie, else the browser's preference, else Korean."""
    cookie = request.cookies.get("lang")
    if cookie in LANGS:
        return cookie
    best = request.accept_languages.best_match(LANGS)
    return best or DEFAULT_LANG


def translate(lang: str, key: str, **kw) -> str:
    pair = CATALOGUE.get(key)
    if pair is None:
        return key
    text = pair[0] if lang == "ko" else pair[1]
    return text.format(**kw) if kw else text


def reason_text(lang: str, reason: str | None) -> str:
    """A refusal reason in the page's language."""
    if not reason:
        return ""
    if lang != "ko":
        return reason
    from ..engine.decode import REASONS  # the engine's catalogue (imported when first needed)

    return REASONS.get(reason) or APP_REASONS.get(reason) or reason


def format_local(lang: str, taken_local: str | None, with_time: bool = True) -> str:
    """'2026-11-30 14:02:11' -> '2026년 11월 30일 (월) 14:02' / '30 Nov 2026, 14:02'."""
    if not taken_local:
        return ""
    try:
        dt = datetime.strptime(taken_local[:19], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return taken_local
    if lang == "ko":
        d = f"{dt.year}년 {dt.month}월 {dt.day}일 ({_WEEKDAYS_KO[dt.weekday()]})"
        return f"{d} {dt:%H:%M}" if with_time else d
    d = f"{dt.day} {_MONTHS_EN[dt.month - 1]} {dt.year}"
    return f"{d}, {dt:%H:%M}" if with_time else d


def format_iso(lang: str, iso: str | None) -> str:
    """A store timestamp (UTC) in the server's local time, in the page's format."""
    if not iso:
        return ""
    try:
        dt = datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return iso
    from datetime import timezone

    local = dt.replace(tzinfo=timezone.utc).astimezone()
    return format_local(lang, local.strftime("%Y-%m-%d %H:%M:%S"))
