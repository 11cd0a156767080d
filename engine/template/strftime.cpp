// strftime for templates' strftime_now (Llama 3.x prints "Today Date: 15 Jan 2026"). Written out
// here rather than calling the C library so the names stay English whatever locale the app sets,
// and weekday/day-of-year are derived from the date itself (the injected clock may leave them unset).
#include <algorithm>
#include <cstdio>

#include "engine/template/interpreter.h"

namespace hearth::jinja {
namespace {

const char* const kDays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
const char* const kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                               "July",    "August",   "September", "October", "November", "December"};

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

}  // namespace

std::string format_time(const std::tm& t, std::string_view format) {
    const int year = t.tm_year + 1900, mon = std::clamp(t.tm_mon, 0, 11), mday = t.tm_mday;
    const int64_t days = days_from_civil(year, mon + 1, mday);
    const int wday = int(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
    const int yday = int(days - days_from_civil(year, 1, 1));
    std::string out;
    char buf[64];
    for (size_t i = 0; i < format.size(); ++i) {
        if (format[i] != '%' || i + 1 >= format.size()) { out += format[i]; continue; }
        char pad = 0;  // glibc flags: '-' no padding, '_' spaces, '0' zeros
        char c = format[++i];
        if ((c == '-' || c == '_' || c == '0') && i + 1 < format.size()) { pad = c; c = format[++i]; }
        auto num = [&](int v, int width, char dflt_pad) {
            const char p = pad ? pad : dflt_pad;
            if (p == '-') std::snprintf(buf, sizeof buf, "%d", v);
            else if (p == '_') std::snprintf(buf, sizeof buf, "%*d", width, v);
            else std::snprintf(buf, sizeof buf, "%0*d", width, v);
            out += buf;
        };
        const int hour12 = t.tm_hour % 12 == 0 ? 12 : t.tm_hour % 12;
        switch (c) {
            case 'a': out.append(kDays[wday], 3); break;
            case 'A': out += kDays[wday]; break;
            case 'b': case 'h': out.append(kMonths[mon], 3); break;
            case 'B': out += kMonths[mon]; break;
            case 'd': num(mday, 2, '0'); break;
            case 'e': num(mday, 2, '_'); break;
            case 'm': num(mon + 1, 2, '0'); break;
            case 'y': num(((year % 100) + 100) % 100, 2, '0'); break;
            case 'Y': num(year, 1, '0'); break;
            case 'H': num(t.tm_hour, 2, '0'); break;
            case 'I': num(hour12, 2, '0'); break;
            case 'M': num(t.tm_min, 2, '0'); break;
            case 'S': num(t.tm_sec, 2, '0'); break;
            case 'p': out += t.tm_hour < 12 ? "AM" : "PM"; break;
            case 'j': num(yday + 1, 3, '0'); break;
            case 'w': num(wday, 1, '0'); break;
            case 'u': num(wday == 0 ? 7 : wday, 1, '0'); break;
            case 'U': num((yday + 7 - wday) / 7, 2, '0'); break;
            case 'W': num((yday + 7 - (wday + 6) % 7) / 7, 2, '0'); break;
            case 'D': std::snprintf(buf, sizeof buf, "%02d/%02d/%02d", mon + 1, mday, ((year % 100) + 100) % 100); out += buf; break;
            case 'x': std::snprintf(buf, sizeof buf, "%02d/%02d/%02d", mon + 1, mday, ((year % 100) + 100) % 100); out += buf; break;
            case 'F': std::snprintf(buf, sizeof buf, "%d-%02d-%02d", year, mon + 1, mday); out += buf; break;
            case 'T': case 'X': std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", t.tm_hour, t.tm_min, t.tm_sec); out += buf; break;
            case 'R': std::snprintf(buf, sizeof buf, "%02d:%02d", t.tm_hour, t.tm_min); out += buf; break;
            case 'c':
                std::snprintf(buf, sizeof buf, "%.3s %.3s %2d %02d:%02d:%02d %d", kDays[wday], kMonths[mon], mday, t.tm_hour,
                              t.tm_min, t.tm_sec, year);
                out += buf;
                break;
            case 'Z': case 'z': break;  // a naive datetime has no zone: Python prints nothing
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case '%': out += '%'; break;
            default: out += '%'; if (pad) out += pad; out += c;  // unknown directives stay as written
        }
    }
    return out;
}

}  // namespace hearth::jinja
